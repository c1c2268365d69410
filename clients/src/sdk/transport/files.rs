//! File reads, each capped at [`MAX_FILE`] so a wrong path (a device, a huge log) is an
//! error, not a hang or an exhausted memory.

use std::io::{self, Read};
use std::path::Path;

/// Largest file read (evidence, collateral item, registration, state, key).
pub const MAX_FILE: u64 = 8 << 20;

/// The bytes of the file at `path`; larger than [`MAX_FILE`] is
/// [`io::ErrorKind::FileTooLarge`].
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let mut out = Vec::new();
    file.take(MAX_FILE.saturating_add(1))
        .read_to_end(&mut out)?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > MAX_FILE {
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            "the file is larger than 8 MiB",
        ));
    }
    Ok(out)
}

/// The UTF-8 text of the file at `path` (capped like [`read`]).
pub fn read_text(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text"))
}

/// The regular files directly in `dir` (not recursively) whose names are UTF-8, with
/// their bytes; a file larger than [`MAX_FILE`] is an error.
pub fn read_folder(dir: &Path) -> io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let bytes = read(&entry.path())?;
        out.push((name, bytes));
    }
    Ok(out)
}

/// Whether `path` is a regular file.
pub fn is_file(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
#[allow(non_snake_case)]
mod tests {
    use super::*;

    #[test]
    fn read__should_refuse_a_file_over_the_cap_and_read_one_at_it() {
        let dir = std::env::temp_dir().join(format!("kms-files-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let cap = usize::try_from(MAX_FILE).unwrap();
        std::fs::write(dir.join("at-cap"), vec![0u8; cap]).unwrap();
        std::fs::write(dir.join("over"), vec![0u8; cap + 1]).unwrap();
        assert_eq!(read(&dir.join("at-cap")).unwrap().len(), cap);
        let e = read(&dir.join("over")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert!(read_folder(&dir).is_err());
        std::fs::remove_file(dir.join("over")).unwrap();
        let names: Vec<String> = read_folder(&dir)
            .unwrap()
            .into_iter()
            .map(|f| f.0)
            .collect();
        assert_eq!(names, ["at-cap"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
