//! Packing a runtime directory into a source package (SPEC §5): `<name>-<version>.tar.gz`
//! with one top-level directory `<name>/`, byte-reproducible: entries sorted by path, mtime 0,
//! uid/gid 0 with no owner names, modes normalised, and no timestamp or file name in the gzip
//! header. The same inputs give the same sha256.

use std::io::{self, Write};
use std::path::Path;

use flate2::{Compression, GzBuilder};

use crate::extract::normalise_mode;

/// Writes the package for the runtime directory `dir` under the top-level name `top`.
pub fn pack(dir: &Path, top: &str, out: impl Write) -> io::Result<()> {
    let gz = GzBuilder::new().mtime(0).write(out, Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    let mut entries = Vec::new();
    collect(dir, "", &mut entries)?;
    entries.sort();
    append_dir(&mut tar, top)?;
    for rel in entries {
        let path = dir.join(&rel);
        let meta = std::fs::symlink_metadata(&path)?;
        let name = format!("{top}/{rel}");
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        if meta.is_dir() {
            append_dir(&mut tar, &name)?;
        } else if meta.file_type().is_symlink() {
            let target = std::fs::read_link(&path)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            tar.append_link(&mut header, &name, &target)?;
        } else if meta.is_file() {
            use std::os::unix::fs::PermissionsExt;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(normalise_mode(meta.permissions().mode()));
            header.set_size(meta.len());
            tar.append_data(&mut header, &name, std::fs::File::open(&path)?)?;
        } else {
            return Err(io::Error::other(format!(
                "{} is neither a file, a directory nor a symlink",
                path.display()
            )));
        }
    }
    tar.into_inner()?.finish()?.flush()
}

fn append_dir<W: Write>(tar: &mut tar::Builder<W>, name: &str) -> io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o755);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_size(0);
    tar.append_data(&mut header, format!("{name}/"), io::empty())
}

/// Every path below `dir`, relative and `/`-separated; hidden entries (`.git`) are skipped.
fn collect(dir: &Path, prefix: &str, out: &mut Vec<String>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let is_dir = entry.file_type()?.is_dir();
        out.push(rel.clone());
        if is_dir {
            collect(&entry.path(), &rel, out)?;
        }
    }
    Ok(())
}
