//! Packing a runtime directory into a source package (SPEC §5): `<name>-<version>.tar.gz`
//! with one top-level directory `<name>/`, byte-reproducible: entries sorted by path, mtime 0,
//! uid/gid 0 with no owner names, modes normalised, and no timestamp or file name in the gzip
//! header. The same inputs give the same sha256. The gzip layer is [`jrt_extract::gzip::Writer`]'s
//! indexed members, so installs inflate the package on every core; it is still an ordinary
//! `.tar.gz` to every other reader.

use std::io::{self, Write};
use std::path::Path;

use flate2::Compression;

use jrt_extract::normalise_mode;

/// Writes the source package for the runtime directory `dir` (whose manifest is
/// `manifest`) under the top-level name `<name>/`, leaving out hidden entries (`.git`,
/// editor files) at any depth and the top-level `versions/` directory (the published
/// packages' versions.lock files, which the release commits back after building: the source
/// package must not change because of them). A directory without its own `setup.sh` gets
/// the one Joblet's installer needs ([`crate::joblet::setup_sh`]).
pub fn pack(dir: &Path, manifest: &crate::manifest::Manifest, out: impl Write) -> io::Result<()> {
    let keep = |rel: &str| {
        rel != "versions"
            && !rel.starts_with("versions/")
            && !rel.split('/').any(|part| part.starts_with('.'))
    };
    // The name and version go into a script Joblet runs as root: only the characters a
    // runtime name and a semantic version may have.
    let safe = crate::manifest::is_valid_name(&manifest.name)
        && semver::Version::parse(&manifest.version).is_ok_and(|v| {
            v.to_string()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-+".contains(&b))
        });
    if !safe {
        return Err(io::Error::other(format!(
            "'{}@{}' is not a runtime name and semantic version",
            jrt_input::display::safe(&manifest.name),
            jrt_input::display::safe(&manifest.version)
        )));
    }
    let extra = if dir.join("setup.sh").exists() {
        Vec::new()
    } else {
        vec![(
            "setup.sh".to_string(),
            crate::joblet::setup_sh(&manifest.name, &manifest.version).into_bytes(),
        )]
    };
    pack_entries(dir, &manifest.name, out, &keep, extra)
}

/// Like [`pack`], keeping exactly the relative paths `keep` accepts (a directory left out
/// leaves out everything below it).
pub fn pack_with(
    dir: &Path,
    top: &str,
    out: impl Write,
    keep: &dyn Fn(&str) -> bool,
) -> io::Result<()> {
    pack_entries(dir, top, out, keep, Vec::new())
}

/// [`pack_with`], plus `extra` files (top-level, executable) that are not in `dir`.
fn pack_entries(
    dir: &Path,
    top: &str,
    out: impl Write,
    keep: &dyn Fn(&str) -> bool,
    extra: Vec<(String, Vec<u8>)>,
) -> io::Result<()> {
    let gz = jrt_extract::gzip::Writer::new(out, Compression::new(6));
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    tar.follow_symlinks(false);
    let mut entries = Vec::new();
    collect(dir, "", keep, &mut entries)?;
    entries.extend(extra.iter().map(|(rel, _)| rel.clone()));
    entries.sort();
    append_dir(&mut tar, top)?;
    for rel in entries {
        if let Some((_, bytes)) = extra.iter().find(|(r, _)| *r == rel) {
            let mut header = tar::Header::new_gnu();
            header.set_mtime(0);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o755);
            header.set_size(bytes.len() as u64);
            tar.append_data(&mut header, format!("{top}/{rel}"), bytes.as_slice())?;
            continue;
        }
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

/// Every path below `dir` that `keep` accepts, relative and `/`-separated.
fn collect(
    dir: &Path,
    prefix: &str,
    keep: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().into_string().map_err(|n| {
            io::Error::other(format!("{} is not a UTF-8 name", dir.join(n).display()))
        })?;
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if !keep(&rel) {
            continue;
        }
        let is_dir = entry.file_type()?.is_dir();
        out.push(rel.clone());
        if is_dir {
            collect(&entry.path(), &rel, keep, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod guard_tests {
    use super::*;

    #[test]
    fn a_name_that_could_break_out_of_the_generated_script_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (name, version) in [("x'; reboot; '", "1.0.0"), ("rt", "1.0.0$(reboot)")] {
            let text = format!("name: \"{name}\"\nversion: \"{version}\"\n");
            let m = crate::manifest::Manifest::parse(text.as_bytes(), Path::new("m")).unwrap();
            let e = pack(dir.path(), &m, Vec::new()).unwrap_err();
            assert!(e.to_string().contains("is not a runtime name"), "{e}");
        }
        let m =
            crate::manifest::Manifest::parse(b"name: rt\nversion: 1.0.0-rc.1+b7\n", Path::new("m"))
                .unwrap();
        let mut out = Vec::new();
        pack(dir.path(), &m, &mut out).unwrap();
        assert!(!out.is_empty());
    }
}
