//! The SEV-SNP certificate table the host hands the guest (configfs-tsm `auxblob`,
//! `SNP_GET_EXT_REPORT`): entries `{ guid[16], offset u32 LE, length u32 LE }` ended by
//! an all-zero entry, offsets counted from the start of the table (AMD GHCB
//! specification, "SNP Extended Guest Request"; Linux `struct cert_table`). GUIDs are
//! stored in their string byte order, as the `sev` crate and go-sev-guest read them.
//!
//! Written here because the `sev` crate's parser (`vec_bytes_to_cert_table`) follows
//! raw pointers without bounds checks; this one never reads outside the buffer.

#![deny(clippy::indexing_slicing, clippy::arithmetic_side_effects)]

use super::AttestError;

/// VCEK `63da758d-e664-4564-adc5-f4b93be8accd`.
pub const VCEK_GUID: [u8; 16] = [
    0x63, 0xda, 0x75, 0x8d, 0xe6, 0x64, 0x45, 0x64, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
];
/// VLEK `a8074bc2-a25a-483e-aae6-39c045a0b8a1`.
pub const VLEK_GUID: [u8; 16] = [
    0xa8, 0x07, 0x4b, 0xc2, 0xa2, 0x5a, 0x48, 0x3e, 0xaa, 0xe6, 0x39, 0xc0, 0x45, 0xa0, 0xb8, 0xa1,
];

/// Most entries read before the terminator (ARK, ASK, VCEK/VLEK, CRL and a few more).
pub const MAX_ENTRIES: usize = 16;
const ENTRY_LEN: usize = 24;

/// One certificate of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertEntry {
    /// The GUID naming the certificate.
    pub guid: [u8; 16],
    /// The certificate bytes (DER or PEM, as the host stored them).
    pub data: Vec<u8>,
}

fn bad(what: &'static str) -> AttestError {
    AttestError::UnexpectedResponse { what }
}

/// The entries of a table as `(guid, start, len)`, each range checked to lie inside it.
fn entries(table: &[u8]) -> Result<Vec<([u8; 16], usize, usize)>, AttestError> {
    let mut entries = Vec::new();
    let mut rest = table;
    loop {
        let (entry, tail) = rest
            .split_first_chunk::<ENTRY_LEN>()
            .ok_or(bad("SNP certificate table: no terminating entry"))?;
        rest = tail;
        let (guid, lengths) = entry.split_first_chunk::<16>().ok_or(bad("unreachable"))?;
        let (offset, length) = lengths.split_first_chunk::<4>().ok_or(bad("unreachable"))?;
        let offset = u32::from_le_bytes(*offset);
        let length = u32::from_le_bytes(length.try_into().map_err(|_| bad("unreachable"))?);
        if *guid == [0; 16] {
            return Ok(entries);
        }
        if entries.len() >= MAX_ENTRIES {
            return Err(bad("SNP certificate table: too many entries"));
        }
        let start = usize::try_from(offset).map_err(|_| bad("SNP certificate offset"))?;
        let len = usize::try_from(length).map_err(|_| bad("SNP certificate length"))?;
        if start.checked_add(len).is_none_or(|end| end > table.len()) {
            return Err(bad("SNP certificate table: entry outside the table"));
        }
        entries.push((*guid, start, len));
    }
}

/// Parses a certificate table. Entries must lie inside `table`; the terminator must be
/// present within [`MAX_ENTRIES`] entries.
pub fn parse(table: &[u8]) -> Result<Vec<CertEntry>, AttestError> {
    entries(table)?
        .into_iter()
        .map(|(guid, start, len)| {
            let data = start
                .checked_add(len)
                .and_then(|end| table.get(start..end))
                .ok_or(bad("SNP certificate table: entry outside the table"))?;
            Ok(CertEntry {
                guid,
                data: data.to_vec(),
            })
        })
        .collect()
}

/// How many leading bytes of `table` the table uses: its entry list with the terminator
/// and every certificate (the rest of a driver's fixed-size buffer is padding).
pub fn used_len(table: &[u8]) -> Result<usize, AttestError> {
    let list = entries(table)?;
    let header = list
        .len()
        .checked_add(1)
        .and_then(|n| n.checked_mul(ENTRY_LEN))
        .ok_or(bad("SNP certificate table: too many entries"))?;
    Ok(list
        .iter()
        .filter_map(|(_, start, len)| start.checked_add(*len))
        .fold(header, usize::max))
}

/// Builds a table (for tests and for hosts written in Rust): the entries' data follow
/// the entry list and its terminator, in order.
pub fn encode(entries: &[CertEntry]) -> Option<Vec<u8>> {
    let header = entries.len().checked_add(1)?.checked_mul(ENTRY_LEN)?;
    let mut out = Vec::new();
    let mut data = Vec::new();
    let mut offset = header;
    for e in entries {
        out.extend_from_slice(&e.guid);
        out.extend_from_slice(&u32::try_from(offset).ok()?.to_le_bytes());
        out.extend_from_slice(&u32::try_from(e.data.len()).ok()?.to_le_bytes());
        data.extend_from_slice(&e.data);
        offset = offset.checked_add(e.data.len())?;
    }
    out.extend_from_slice(&[0; ENTRY_LEN]);
    out.extend_from_slice(&data);
    Some(out)
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn parse__should_invert_encode() {
        let entries = vec![
            CertEntry {
                guid: VCEK_GUID,
                data: b"vcek".to_vec(),
            },
            CertEntry {
                guid: VLEK_GUID,
                data: vec![1; 300],
            },
        ];
        assert_eq!(parse(&encode(&entries).unwrap()).unwrap(), entries);
        assert_eq!(parse(&encode(&[]).unwrap()).unwrap(), vec![]);
    }

    #[test]
    fn used_len__should_ignore_trailing_padding() {
        let t = encode(&[CertEntry {
            guid: VCEK_GUID,
            data: vec![7; 100],
        }])
        .unwrap();
        let mut padded = t.clone();
        padded.resize(4096, 0);
        assert_eq!(used_len(&padded).unwrap(), t.len());
        assert_eq!(used_len(&[0; 24]).unwrap(), 24);
        assert!(used_len(&t[..30]).is_err());
    }

    #[test]
    fn parse__should_refuse_out_of_bounds_and_unterminated_tables() {
        let mut t = encode(&[CertEntry {
            guid: VCEK_GUID,
            data: b"vcek".to_vec(),
        }])
        .unwrap();
        assert!(parse(&t[..t.len() - 1]).is_err());
        assert!(parse(&t[..30]).is_err());
        t[20] = 0xff; // length
        assert!(parse(&t).is_err());
    }
}
