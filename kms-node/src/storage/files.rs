//! [`FileShareStore`]: sealed shares under the node's data directory.
//!
//! ```text
//! <data_dir>/pending/<epoch>/{bls,secp}.sealed   written during a transition
//! <data_dir>/epochs/<epoch>/{bls,secp}.sealed    promoted once the epoch activated
//! ```
//!
//! Every file is written to a temporary name in its directory, fsynced, renamed into
//! place and the directory fsynced, so a crash leaves either the old file or the new
//! one. Promotion renames the whole `pending/<epoch>` directory to `epochs/<epoch>`
//! (one atomic rename), erasure renames it to a `.trash-*` name first (so a crash never
//! leaves half an epoch under its real name) and overwrites each file with zeros before
//! removing it. Temporary and trash names start with `.` and are never read as shares;
//! [`FileShareStore::open`] removes leftover trash.
//!
//! # Single writer
//!
//! One process owns a data directory. The writing methods take `&mut self`, so one
//! store value is used by one writer at a time; nothing guards against two processes
//! opening the same directory.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use super::sealed::{self, MAX_SEALED_LEN};
use super::{Epoch, Error, Sealer, ShareKind, StoreShare};

const EPOCHS: &str = "epochs";
const PENDING: &str = "pending";
const TRASH_PREFIX: &str = ".trash-";

/// Sealed share storage in a directory (see the module docs for the layout).
pub struct FileShareStore<S> {
    root: PathBuf,
    sealer: S,
}

fn io_error(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io { op, path, source }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("fsync directory", dir))
}

/// Creates `dir` (mode 0700 on Unix) if missing and fsyncs its parent.
fn ensure_dir(dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(io_error("create directory", dir))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

fn file_name(kind: ShareKind) -> &'static str {
    match kind {
        ShareKind::Bls => "bls.sealed",
        ShareKind::Secp => "secp.sealed",
        ShareKind::NodeIdentity => "identity.sealed",
    }
}

fn temp_name(kind: ShareKind) -> String {
    format!(".{}.tmp", file_name(kind))
}

/// Writes `bytes` to `dir/name` atomically: temp file, fsync, rename, fsync `dir`.
pub(crate) fn write_atomic(dir: &Path, name: &str, temp: &str, bytes: &[u8]) -> Result<(), Error> {
    let temp_path = dir.join(temp);
    let path = dir.join(name);
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&temp_path)
        .map_err(io_error("create temporary file", &temp_path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error("write temporary file", &temp_path))?;
    drop(file);
    fs::rename(&temp_path, &path).map_err(io_error("rename into place", &path))?;
    sync_dir(dir)
}

/// Overwrites every regular file in `dir` with zeros (best effort against reading the
/// old ciphertext back from the same blocks; SSDs and copy-on-write file systems may
/// keep other copies), then removes `dir`.
fn shred_dir(dir: &Path) -> Result<(), Error> {
    let entries = fs::read_dir(dir).map_err(io_error("list directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(io_error("list directory", dir))?;
        let path = entry.path();
        let meta = entry.metadata().map_err(io_error("stat file", &path))?;
        if meta.is_file() {
            let len = usize::try_from(meta.len()).unwrap_or(MAX_SEALED_LEN);
            let zeros = vec![0u8; len.min(MAX_SEALED_LEN)];
            OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|mut f| f.write_all(&zeros).and_then(|()| f.sync_all()))
                .map_err(io_error("overwrite file", &path))?;
        }
    }
    fs::remove_dir_all(dir).map_err(io_error("remove directory", dir))
}

impl<S: Sealer> FileShareStore<S> {
    /// Opens (creating if needed) the store under `data_dir`, sealing with `sealer`.
    /// Removes trash left by an erasure that a crash interrupted.
    pub fn open(data_dir: &Path, sealer: S) -> Result<Self, Error> {
        let store = Self {
            root: data_dir.to_owned(),
            sealer,
        };
        for area in [EPOCHS, PENDING] {
            let dir = store.root.join(area);
            ensure_dir(&dir)?;
            let entries = fs::read_dir(&dir).map_err(io_error("list directory", &dir))?;
            for entry in entries {
                let entry = entry.map_err(io_error("list directory", &dir))?;
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(TRASH_PREFIX)
                {
                    shred_dir(&entry.path())?;
                    sync_dir(&dir)?;
                }
            }
        }
        Ok(store)
    }

    /// The data directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn epoch_dir(&self, area: &str, epoch: Epoch) -> PathBuf {
        self.root.join(area).join(epoch.0.to_string())
    }

    /// The path of a share file (for operators and tests; reading it directly gives
    /// only ciphertext).
    pub fn share_path(&self, pending: bool, epoch: Epoch, kind: ShareKind) -> PathBuf {
        let area = if pending { PENDING } else { EPOCHS };
        self.epoch_dir(area, epoch).join(file_name(kind))
    }

    fn read_share(
        &self,
        pending: bool,
        epoch: Epoch,
        kind: ShareKind,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let path = self.share_path(pending, epoch, kind);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound {
                    epoch,
                    kind,
                    pending,
                })
            }
            Err(e) => return Err(io_error("open share", &path)(e)),
        };
        let mut bytes = Vec::new();
        // One byte past the limit, so an oversized file is refused, not cut.
        file.take(
            u64::try_from(MAX_SEALED_LEN)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
        )
        .read_to_end(&mut bytes)
        .map_err(io_error("read share", &path))?;
        sealed::open(&self.sealer, epoch, kind, &bytes)
    }

    fn trash(&self, area: &str, epoch: Epoch) -> Result<(), Error> {
        let dir = self.epoch_dir(area, epoch);
        if !dir.exists() {
            return Ok(());
        }
        let parent = self.root.join(area);
        let trash = parent.join(format!("{TRASH_PREFIX}{}", epoch.0));
        if trash.exists() {
            shred_dir(&trash)?;
        }
        fs::rename(&dir, &trash).map_err(io_error("move to trash", &dir))?;
        sync_dir(&parent)?;
        shred_dir(&trash)?;
        sync_dir(&parent)
    }
}

impl<S: Sealer> StoreShare for FileShareStore<S> {
    fn put_pending(&mut self, epoch: Epoch, kind: ShareKind, share: &[u8]) -> Result<(), Error> {
        if self.epoch_dir(EPOCHS, epoch).exists() {
            return Err(Error::AlreadyActive { epoch });
        }
        let mut nonce = [0u8; 12];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|_| Error::Randomness)?;
        let bytes = sealed::seal(&self.sealer, epoch, kind, share, nonce)?;
        let dir = self.epoch_dir(PENDING, epoch);
        ensure_dir(&dir)?;
        write_atomic(&dir, file_name(kind), &temp_name(kind), &bytes)
    }

    fn load_pending(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.read_share(true, epoch, kind)
    }

    fn promote(&mut self, epoch: Epoch) -> Result<(), Error> {
        let pending = self.epoch_dir(PENDING, epoch);
        let active = self.epoch_dir(EPOCHS, epoch);
        if active.exists() {
            return Err(Error::AlreadyActive { epoch });
        }
        if !pending.is_dir() {
            return Err(Error::NothingPending { epoch });
        }
        // Both shares must be present and open under this sealer before the epoch's
        // directory moves: an active epoch is never incomplete or unreadable.
        for kind in ShareKind::ALL {
            match self.read_share(true, epoch, kind) {
                Ok(_) => {}
                Err(Error::NotFound { .. }) => {
                    return Err(Error::PendingIncomplete {
                        epoch,
                        missing: kind,
                    })
                }
                Err(e) => return Err(e),
            }
            let temp = pending.join(temp_name(kind));
            if temp.exists() {
                fs::remove_file(&temp).map_err(io_error("remove temporary file", &temp))?;
            }
        }
        fs::rename(&pending, &active).map_err(io_error("promote", &pending))?;
        sync_dir(&self.root.join(PENDING))?;
        sync_dir(&self.root.join(EPOCHS))
    }

    fn erase_epoch(&mut self, epoch: Epoch) -> Result<(), Error> {
        self.trash(EPOCHS, epoch)?;
        self.trash(PENDING, epoch)
    }

    fn load(&self, epoch: Epoch, kind: ShareKind) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.read_share(false, epoch, kind)
    }

    fn active_epochs(&self) -> Result<Vec<Epoch>, Error> {
        let dir = self.root.join(EPOCHS);
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io_error("list directory", &dir))? {
            let entry = entry.map_err(io_error("list directory", &dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            // Only canonical decimal names (no sign, no leading zero) are epochs.
            if let Ok(n) = name.parse::<u64>() {
                if n.to_string() == name && entry.path().is_dir() {
                    out.push(Epoch(n));
                }
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}
