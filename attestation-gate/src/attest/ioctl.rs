//! The raw ioctls of the Linux TEE guest drivers, on a device path the caller chooses:
//! `TDX_CMD_GET_REPORT0` (`include/uapi/linux/tdx-guest.h`) and `SNP_GET_REPORT` /
//! `SNP_GET_EXT_REPORT` / `SNP_GET_DERIVED_KEY` (`include/uapi/linux/sev-guest.h`). This
//! is the only module of the crate allowed to use `unsafe` (the crate root denies it).
//!
//! # Why `unsafe`
//!
//! An ioctl passes the kernel raw pointers to buffers; Rust cannot express that without
//! `unsafe`. No maintained crate issues these requests on a caller-chosen path: the `sev`
//! crate's `Firmware::open()` opens the fixed `/dev/sev-guest` (so an attester could not
//! honour its device root, DESIGN §3), and no crate wraps `TDX_CMD_GET_REPORT0`. For
//! `SNP_GET_DERIVED_KEY` the `sev` crate's `Firmware::get_derived_key` has the same fixed
//! path and hands the key back in a plain array after leaving the firmware's response
//! (key included) in a buffer it never wipes; here the response buffer is a
//! [`Zeroizing`] owned by the caller.
//!
//! # What keeps it sound
//!
//! - The argument structs are `#[repr(C)]` copies of the uapi structs, their sizes are
//!   checked at compile time, and the request numbers are computed from those sizes, so
//!   the kernel never reads or writes beyond them.
//! - Every pointer handed to the kernel comes from a live `&mut` borrow that outlasts the
//!   call, with exactly the length the driver accesses (the driver copies in and out
//!   with `copy_{from,to}_user` and keeps no pointer after returning).
//! - The file descriptor is borrowed from an open [`File`] for the call's duration.
//!
//! Errors are mapped to [`AttestError`]: `ENOENT` on open → [`AttestError::DeviceNotFound`];
//! `EACCES`/`EPERM` → [`AttestError::PermissionDenied`]; `ENOTTY` (a regular file, or a
//! device of another driver) → [`AttestError::NotATeeDevice`], except `ENOTTY` from the
//! sev-guest driver with `exitinfo2` written back → [`AttestError::SnpVmpckDisabled`]; `EIO` →
//! [`AttestError::TdcallFailed`] (TDX: the uapi returns no code) or
//! [`AttestError::SnpGuestRequest`] with the firmware and VMM error codes the kernel
//! writes back into `exitinfo2`.
//!
//! Untested on hardware: nothing here has run in a TD or an SNP guest (docs/ATTESTERS.md).

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use std::fs::File;
use std::io;
use std::mem::size_of;
use std::os::fd::AsRawFd;
use std::path::Path;

use zeroize::Zeroizing;

use super::tdx_guest::{ioctl_iowr, REPORT_DATA_LEN, TDREPORT_LEN};
use super::AttestError;

/// `struct tdx_report_req`.
#[repr(C)]
struct TdxReportReq {
    reportdata: [u8; REPORT_DATA_LEN],
    tdreport: [u8; TDREPORT_LEN],
}

/// `sizeof(struct snp_report_req)`: `user_data[64]`, `vmpl` (u32), `rsvd[28]`.
pub(crate) const SNP_REPORT_REQ_LEN: usize = 96;
/// `sizeof(struct snp_report_resp)`: `data[4000]`.
pub(crate) const SNP_REPORT_RESP_LEN: usize = 4000;

/// `sizeof(struct snp_derived_key_req)`: `root_key_select` (u32), `rsvd` (u32),
/// `guest_field_select` (u64), `vmpl` (u32), `guest_svn` (u32), `tcb_version` (u64).
pub(crate) const SNP_DERIVED_KEY_REQ_LEN: usize = 32;
/// `sizeof(struct snp_derived_key_resp)`: `data[64]` (the firmware's `MSG_KEY_RSP`).
pub(crate) const SNP_DERIVED_KEY_RESP_LEN: usize = 64;

/// `struct snp_guest_request_ioctl`. `req_data` and `resp_data` are user addresses;
/// `exitinfo2` is written back by the kernel (bits 0-31 firmware error, 32-63 VMM error).
#[repr(C)]
struct SnpGuestRequestIoctl {
    msg_version: u8,
    req_data: u64,
    resp_data: u64,
    exitinfo2: u64,
}

/// `struct snp_ext_report_req`: the plain request (kept as its 96 encoded bytes; the
/// kernel copies it byte for byte), then where to write the certificate table.
#[repr(C)]
struct SnpExtReportReq {
    data: [u8; SNP_REPORT_REQ_LEN],
    certs_address: u64,
    certs_len: u32,
}

const _: () = assert!(size_of::<TdxReportReq>() == 1088);
const _: () = assert!(size_of::<SnpGuestRequestIoctl>() == 32);
const _: () = assert!(size_of::<SnpExtReportReq>() == 112);

/// `TDX_CMD_GET_REPORT0 = _IOWR('T', 1, struct tdx_report_req)`.
pub(crate) const TDX_CMD_GET_REPORT0: u32 = ioctl_iowr(b'T', 1, size_of::<TdxReportReq>());
/// `SNP_GET_REPORT = _IOWR('S', 0x0, struct snp_guest_request_ioctl)`.
pub(crate) const SNP_GET_REPORT: u32 = ioctl_iowr(b'S', 0, size_of::<SnpGuestRequestIoctl>());
/// `SNP_GET_DERIVED_KEY = _IOWR('S', 0x1, struct snp_guest_request_ioctl)`.
pub(crate) const SNP_GET_DERIVED_KEY: u32 = ioctl_iowr(b'S', 1, size_of::<SnpGuestRequestIoctl>());
/// `SNP_GET_EXT_REPORT = _IOWR('S', 0x2, struct snp_guest_request_ioctl)`.
pub(crate) const SNP_GET_EXT_REPORT: u32 = ioctl_iowr(b'S', 2, size_of::<SnpGuestRequestIoctl>());

/// `SEV_FW_BLOB_MAX_SIZE`: the kernel refuses larger certificate buffers, and requires a
/// multiple of the page size.
pub(crate) const SNP_CERTS_MAX_LEN: usize = 0x4000;

/// Opens the device read-write, as the drivers require for their ioctls.
fn open(path: &Path) -> Result<File, AttestError> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| map_errno(path, "open", e, None))
}

/// Maps an OS error of `op` on `path` to the typed error; `eio` is the error to use
/// for `EIO`, when the request defines one.
pub(crate) fn map_errno(
    path: &Path,
    op: &'static str,
    err: io::Error,
    eio: Option<AttestError>,
) -> AttestError {
    let path = path.to_path_buf();
    match err.raw_os_error() {
        Some(libc::ENOENT) => AttestError::DeviceNotFound { path },
        Some(libc::EACCES | libc::EPERM) => AttestError::PermissionDenied { path, op },
        Some(libc::ENOTTY) => AttestError::NotATeeDevice { path, request: op },
        Some(libc::EIO) => match eio {
            Some(e) => e,
            None => AttestError::Io {
                what: op,
                path,
                source: err,
            },
        },
        _ => AttestError::Io {
            what: op,
            path,
            source: err,
        },
    }
}

/// Issues an `_IOWR` ioctl whose argument is `arg`.
///
/// # Safety
///
/// `request` must be a command of the driver behind `file` whose argument is a `T`
/// (the size encoded in `request` is `size_of::<T>()`), and every user address stored
/// inside `arg` must point to memory that is valid for the reads and writes the driver
/// performs for that command, and stays valid until this function returns.
unsafe fn ioctl_rw<T>(file: &File, request: u32, arg: &mut T) -> io::Result<()> {
    let arg: *mut T = arg;
    // SAFETY: the descriptor is open (borrowed from `file` for the whole call); `arg`
    // comes from an exclusive borrow of a `T`, which is what `request` tells the kernel
    // to read and write; the caller guarantees the addresses inside `arg`. The request
    // type differs between libc flavours (`c_ulong` on glibc, `c_int` on musl), hence
    // `as _`; the bit pattern is what the kernel compares.
    let rc = unsafe { libc::ioctl(file.as_raw_fd(), request as _, arg) };
    if rc == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `TDX_CMD_GET_REPORT0` on `path`: the TDREPORT (TDX module `TDREPORT_STRUCT`) binding
/// `report_data`. `EIO` means TDCALL[TDG.MR.REPORT] failed.
pub(crate) fn tdx_get_report0(
    path: &Path,
    report_data: &[u8; REPORT_DATA_LEN],
) -> Result<[u8; TDREPORT_LEN], AttestError> {
    let file = open(path)?;
    let mut req = TdxReportReq {
        reportdata: *report_data,
        tdreport: [0; TDREPORT_LEN],
    };
    // SAFETY: TDX_CMD_GET_REPORT0 is `_IOWR('T', 1, struct tdx_report_req)` and `req` is
    // that struct (size checked above); it contains no pointers.
    unsafe { ioctl_rw(&file, TDX_CMD_GET_REPORT0, &mut req) }.map_err(|e| {
        let tdcall = AttestError::TdcallFailed {
            path: path.to_path_buf(),
        };
        map_errno(path, "TDX_CMD_GET_REPORT0", e, Some(tdcall))
    })?;
    Ok(req.tdreport)
}

/// The SNP firmware's answer to a report request: the `snp_report_resp` buffer (which
/// holds `MSG_REPORT_RSP`) and, for the extended request, the certificate buffer.
pub(crate) struct SnpReportOutput {
    pub(crate) resp: Box<[u8; SNP_REPORT_RESP_LEN]>,
    pub(crate) certs: Option<Vec<u8>>,
}

/// `SNP_GET_REPORT` (`certs == false`) or `SNP_GET_EXT_REPORT` with a certificate buffer
/// of [`SNP_CERTS_MAX_LEN`] bytes (`certs == true`) on `path`, with the encoded
/// `snp_report_req` `req` and message version `msg_version` (non-zero).
pub(crate) fn snp_get_report(
    path: &Path,
    req: &[u8; SNP_REPORT_REQ_LEN],
    msg_version: u8,
    certs: bool,
) -> Result<SnpReportOutput, AttestError> {
    let file = open(path)?;
    let mut resp = Box::new([0u8; SNP_REPORT_RESP_LEN]);
    let mut plain = *req;
    let mut cert_buf = vec![0u8; if certs { SNP_CERTS_MAX_LEN } else { 0 }];
    let mut ext = SnpExtReportReq {
        data: *req,
        certs_address: cert_buf.as_mut_ptr() as u64,
        // SNP_CERTS_MAX_LEN fits in u32 (16 KiB).
        certs_len: if certs { SNP_CERTS_MAX_LEN as u32 } else { 0 },
    };
    let (request, name, req_data) = if certs {
        let p: *mut SnpExtReportReq = &mut ext;
        (SNP_GET_EXT_REPORT, "SNP_GET_EXT_REPORT", p as u64)
    } else {
        let p: *mut [u8; SNP_REPORT_REQ_LEN] = &mut plain;
        (SNP_GET_REPORT, "SNP_GET_REPORT", p as u64)
    };
    let resp_ptr: *mut [u8; SNP_REPORT_RESP_LEN] = &mut *resp;
    let mut arg = SnpGuestRequestIoctl {
        msg_version,
        req_data,
        resp_data: resp_ptr as u64,
        exitinfo2: 0,
    };
    // SAFETY: both commands take a `struct snp_guest_request_ioctl` (size checked
    // above). `req_data` points to `plain` (96 bytes, `struct snp_report_req`, read by
    // SNP_GET_REPORT) or to `ext` (112 bytes, `struct snp_ext_report_req`, read and on a
    // short certificate buffer written back by SNP_GET_EXT_REPORT); `resp_data` points to
    // `resp`, the 4000 bytes of `struct snp_report_resp` the driver writes;
    // `ext.certs_address` points to `cert_buf`, valid for `ext.certs_len` bytes (0 when no
    // certificates are requested, and then not used by SNP_GET_REPORT). All of them are
    // locals or boxes owned by this frame, not moved or dropped before the call returns.
    let result = unsafe { ioctl_rw(&file, request, &mut arg) };
    result.map_err(|e| snp_request_error(path, name, e, arg.exitinfo2))?;
    Ok(SnpReportOutput {
        resp,
        certs: certs.then_some(cert_buf),
    })
}

/// `SNP_GET_DERIVED_KEY` on `path` with the encoded `snp_derived_key_req` `req` and
/// message version `msg_version` (non-zero): the `snp_derived_key_resp` buffer, which
/// holds the firmware's `MSG_KEY_RSP` (the derived key at bytes 0x20..0x40). The buffer
/// is wiped when dropped.
pub(crate) fn snp_get_derived_key(
    path: &Path,
    req: &[u8; SNP_DERIVED_KEY_REQ_LEN],
    msg_version: u8,
) -> Result<Zeroizing<[u8; SNP_DERIVED_KEY_RESP_LEN]>, AttestError> {
    let file = open(path)?;
    let mut plain = *req;
    let mut resp = Zeroizing::new([0u8; SNP_DERIVED_KEY_RESP_LEN]);
    let req_ptr: *mut [u8; SNP_DERIVED_KEY_REQ_LEN] = &mut plain;
    let resp_ptr: *mut [u8; SNP_DERIVED_KEY_RESP_LEN] = &mut *resp;
    let mut arg = SnpGuestRequestIoctl {
        msg_version,
        req_data: req_ptr as u64,
        resp_data: resp_ptr as u64,
        exitinfo2: 0,
    };
    // SAFETY: SNP_GET_DERIVED_KEY takes a `struct snp_guest_request_ioctl` (size checked
    // above). `req_data` points to `plain`, the 32 bytes of `struct snp_derived_key_req`
    // the driver copies in; `resp_data` points to the 64-byte array inside `resp`, the
    // `struct snp_derived_key_resp` it copies out. Both are owned by this frame (the
    // array inside the `Zeroizing` does not move while borrowed) and outlive the call.
    let result = unsafe { ioctl_rw(&file, SNP_GET_DERIVED_KEY, &mut arg) };
    result.map_err(|e| snp_request_error(path, "SNP_GET_DERIVED_KEY", e, arg.exitinfo2))?;
    Ok(resp)
}

/// The error of a failed `SNP_GET_REPORT` / `SNP_GET_EXT_REPORT` whose `exitinfo2` (as
/// the kernel wrote it back, or our 0 when it did not) is `exitinfo2`.
///
/// `snp_guest_ioctl` sets `exitinfo2` to 0xff before handling a request and copies the
/// argument back whenever it is non-zero. In current kernels the VMPCK check (after a
/// failed guest request the driver wipes the key and answers every request with `ENOTTY`)
/// sits in `snp_send_guest_request`, inside that window; older ones check before it, and
/// then the case is indistinguishable from a foreign device. A regular file or another
/// driver never writes `exitinfo2`, so `ENOTTY` with a non-zero `exitinfo2` is a disabled
/// VMPCK. (Not run on hardware; read from `drivers/virt/coco/sev-guest/sev-guest.c`.)
pub(crate) fn snp_request_error(
    path: &Path,
    op: &'static str,
    err: io::Error,
    exitinfo2: u64,
) -> AttestError {
    if err.raw_os_error() == Some(libc::ENOTTY) && exitinfo2 != 0 {
        return AttestError::SnpVmpckDisabled {
            path: path.to_path_buf(),
            exitinfo2,
        };
    }
    let guest_request = AttestError::SnpGuestRequest {
        path: path.to_path_buf(),
        // Bits 0-31 and 32-63 of exitinfo2 (uapi `fw_error` / `vmm_error`).
        fw_error: (exitinfo2 & 0xffff_ffff) as u32,
        vmm_error: (exitinfo2 >> 32) as u32,
    };
    map_errno(path, op, err, Some(guest_request))
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn request_numbers__should_match_the_kernel_headers() {
        // _IOWR(type, nr, size) = 3 << 30 | size << 16 | type << 8 | nr.
        assert_eq!(TDX_CMD_GET_REPORT0, 0xc440_5401);
        assert_eq!(SNP_GET_REPORT, 0xc020_5300);
        assert_eq!(SNP_GET_EXT_REPORT, 0xc020_5302);
        assert_eq!(SNP_GET_DERIVED_KEY, 0xc020_5301);
    }

    #[test]
    fn snp_get_derived_key__should_map_a_missing_device_and_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let absent = dir.path().join("sev-guest");
        assert!(matches!(
            snp_get_derived_key(&absent, &[0; SNP_DERIVED_KEY_REQ_LEN], 1),
            Err(AttestError::DeviceNotFound { .. })
        ));
        // A regular file answers the ioctl with ENOTTY and writes nothing back.
        std::fs::write(&absent, b"").unwrap();
        assert!(matches!(
            snp_get_derived_key(&absent, &[0; SNP_DERIVED_KEY_REQ_LEN], 1),
            Err(AttestError::NotATeeDevice {
                request: "SNP_GET_DERIVED_KEY",
                ..
            })
        ));
    }

    /// The sev-guest driver sets `exitinfo2` (0xff, or the GHCB's answer) before it
    /// handles a request and copies it back whenever it is non-zero; a regular file or
    /// another driver leaves our 0. `ENOTTY` with a written-back `exitinfo2` is the
    /// driver refusing requests after wiping its VMPCK, not a foreign device.
    #[test]
    fn snp_request_error__should_tell_a_disabled_vmpck_from_a_foreign_device() {
        let p = Path::new("/x/dev/sev-guest");
        let e = |n| io::Error::from_raw_os_error(n);
        assert!(matches!(
            snp_request_error(p, "SNP_GET_REPORT", e(libc::ENOTTY), 0),
            AttestError::NotATeeDevice {
                request: "SNP_GET_REPORT",
                ..
            }
        ));
        assert!(matches!(
            snp_request_error(p, "SNP_GET_EXT_REPORT", e(libc::ENOTTY), 0xff),
            AttestError::SnpVmpckDisabled {
                exitinfo2: 0xff,
                ..
            }
        ));
        assert!(matches!(
            snp_request_error(p, "SNP_GET_REPORT", e(libc::EIO), 1 << 32),
            AttestError::SnpGuestRequest {
                fw_error: 0,
                vmm_error: 1,
                ..
            }
        ));
    }

    #[test]
    fn map_errno__should_give_one_variant_per_errno() {
        let p = Path::new("/x/dev/sev-guest");
        let e = |n| io::Error::from_raw_os_error(n);
        assert!(matches!(
            map_errno(p, "open", e(libc::ENOENT), None),
            AttestError::DeviceNotFound { .. }
        ));
        for n in [libc::EACCES, libc::EPERM] {
            assert!(matches!(
                map_errno(p, "open", e(n), None),
                AttestError::PermissionDenied { op: "open", .. }
            ));
        }
        assert!(matches!(
            map_errno(p, "SNP_GET_REPORT", e(libc::ENOTTY), None),
            AttestError::NotATeeDevice {
                request: "SNP_GET_REPORT",
                ..
            }
        ));
        let fw = AttestError::SnpGuestRequest {
            path: p.to_path_buf(),
            fw_error: 0x16,
            vmm_error: 0,
        };
        assert!(matches!(
            map_errno(p, "SNP_GET_REPORT", e(libc::EIO), Some(fw)),
            AttestError::SnpGuestRequest { fw_error: 0x16, .. }
        ));
        assert!(matches!(
            map_errno(p, "SNP_GET_REPORT", e(libc::EIO), None),
            AttestError::Io { .. }
        ));
        assert!(matches!(
            map_errno(p, "SNP_GET_REPORT", e(libc::EINVAL), None),
            AttestError::Io { .. }
        ));
    }
}
