//! Layered prebuilt packages: a runtime that names a `base` (`base: python-3.11@1.3.4`) is
//! published as the base's own prebuilt package, unchanged (so its layer has the base's
//! digest and a node that has the base downloads nothing of it again), plus a layer with
//! only what this runtime adds or changes, and OCI whiteouts (`.wh.NAME`) for what it
//! removes. `<stem>.layers.json` lists both, for `jrt push`.
//!
//! The full single-file package is still written beside them, so a registry.json can keep
//! pointing at one file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use jrt_extract::layer::WHITEOUT;
use jrt_extract::normalise_mode;

use crate::build::BuildError;
use crate::push::{LayerFile, LayersFile};

/// `name@version` of a manifest's `base`, checked.
pub fn parse_base(text: &str) -> Option<(String, String)> {
    let (name, version) = text.split_once('@')?;
    (jrt_package::manifest::is_valid_name(name) && semver::Version::parse(version).is_ok())
        .then(|| (name.to_string(), version.to_string()))
}

/// The prebuilt package a layer is made for.
pub struct Target<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub platform: &'a str,
    /// `<name>-<version>-<platform>`: what the files are called.
    pub stem: &'a str,
}

/// Writes `<stem>.layer.tar.gz` (what `tree` has beyond `base`'s prebuilt package
/// `base_package`) and `<stem>.layers.json` in `out`; returns the description's path and
/// the layer's size.
pub fn write(
    tree: &Path,
    target: &Target<'_>,
    base: &str,
    base_package: &Path,
    out: &Path,
) -> Result<(PathBuf, u64), BuildError> {
    let Target {
        name,
        version,
        platform,
        stem,
    } = *target;
    let scratch = tempfile::Builder::new()
        .prefix(".jrt-layer-")
        .tempdir_in(out)
        .map_err(jrt_fs::io("cannot create a directory in", out))?;
    let base_tree = scratch.path().join("base");
    let delta = scratch.path().join("delta");
    fs::create_dir(&base_tree).map_err(jrt_fs::io("cannot create", &base_tree))?;
    fs::create_dir(&delta).map_err(jrt_fs::io("cannot create", &delta))?;
    let file =
        jrt_fs::open_regular(base_package).map_err(jrt_fs::io("cannot read", base_package))?;
    jrt_extract::extract(
        std::io::BufReader::new(file),
        &base_tree,
        &jrt_extract::Limits::default(),
    )
    .map_err(|e| BuildError::Base {
        base: base.to_string(),
        message: format!(
            "its package {} does not extract: {e}",
            base_package.display()
        ),
    })?;
    diff(tree, &base_tree, &delta, "")?;

    let layer_name = format!("{stem}.layer.tar.gz");
    let (layer_path, layer_sha, layer_size) = crate::build::write_package(out, &layer_name, |f| {
        jrt_package::pack::pack_with(&delta, name, f, &|_| true)
    })?;
    let (base_sha, base_size) =
        jrt_fs::sha256_file(base_package).map_err(jrt_fs::io("cannot read", base_package))?;
    let digest = |sha: &str| {
        jrt_oci::Digest::parse(&format!("sha256:{sha}")).map_err(|e| BuildError::Base {
            base: base.to_string(),
            message: e.to_string(),
        })
    };
    let described = LayersFile {
        name: name.to_string(),
        version: version.to_string(),
        platform: platform.to_string(),
        base: base.to_string(),
        layers: vec![
            LayerFile {
                file: file_name(base_package),
                digest: digest(&base_sha)?,
                size: base_size,
            },
            LayerFile {
                file: file_name(&layer_path),
                digest: digest(&layer_sha)?,
                size: layer_size,
            },
        ],
    };
    let path = out.join(format!("{stem}.layers.json"));
    let json = serde_json::to_vec_pretty(&described).unwrap_or_default();
    jrt_fs::write_atomic(&path, &json).map_err(jrt_fs::io("cannot write", &path))?;
    Ok((path, layer_size))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Puts into `delta/rel` what `tree/rel` has that `base/rel` does not: new and changed
/// entries, and a whiteout for each entry only the base has. jrt's own `.jrt/` is not part
/// of a package.
fn diff(tree: &Path, base: &Path, delta: &Path, rel: &str) -> Result<(), BuildError> {
    let at = |root: &Path| {
        if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        }
    };
    let names = |dir: &Path| -> Result<Vec<String>, BuildError> {
        let mut out = Vec::new();
        if let Ok(entries) = fs::read_dir(dir) {
            for e in entries {
                let e = e.map_err(jrt_fs::io("cannot read", dir))?;
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        out.sort();
        Ok(out)
    };
    let (tree_dir, base_dir) = (at(tree), at(base));
    let ours = names(&tree_dir)?;
    let theirs = names(&base_dir)?;
    for name in &theirs {
        if rel.is_empty() && name == ".jrt" {
            continue;
        }
        if !ours.contains(name) {
            let dir = at(delta);
            fs::create_dir_all(&dir).map_err(jrt_fs::io("cannot create", &dir))?;
            let marker = dir.join(format!("{WHITEOUT}{name}"));
            fs::write(&marker, b"").map_err(jrt_fs::io("cannot write", &marker))?;
        }
    }
    for name in &ours {
        if rel.is_empty() && name == ".jrt" {
            continue;
        }
        let child = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let ours_path = tree.join(&child);
        let theirs_path = base.join(&child);
        let m = fs::symlink_metadata(&ours_path).map_err(jrt_fs::io("cannot read", &ours_path))?;
        let b = fs::symlink_metadata(&theirs_path).ok();
        if m.is_dir() {
            if b.as_ref().is_some_and(|b| b.is_dir()) {
                diff(tree, base, delta, &child)?;
            } else {
                copy_tree(&ours_path, &delta.join(&child))?;
            }
            continue;
        }
        if let Some(b) = &b
            && same(&ours_path, &m, &theirs_path, b)?
        {
            continue;
        }
        copy_tree(&ours_path, &delta.join(&child))?;
    }
    Ok(())
}

/// Whether two non-directory entries would pack the same: type, target or content, and the
/// mode as packing normalises it.
fn same(a: &Path, am: &fs::Metadata, b: &Path, bm: &fs::Metadata) -> Result<bool, BuildError> {
    if am.file_type().is_symlink() || bm.file_type().is_symlink() {
        if !(am.file_type().is_symlink() && bm.file_type().is_symlink()) {
            return Ok(false);
        }
        let ta = fs::read_link(a).map_err(jrt_fs::io("cannot read", a))?;
        let tb = fs::read_link(b).map_err(jrt_fs::io("cannot read", b))?;
        return Ok(ta == tb);
    }
    if !(am.is_file() && bm.is_file())
        || am.len() != bm.len()
        || normalise_mode(am.permissions().mode()) != normalise_mode(bm.permissions().mode())
    {
        return Ok(false);
    }
    let mut fa = jrt_fs::open_regular(a).map_err(jrt_fs::io("cannot read", a))?;
    let mut fb = jrt_fs::open_regular(b).map_err(jrt_fs::io("cannot read", b))?;
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = jrt_extract::buffers::read_full(&mut fa, &mut ba)
            .map_err(jrt_fs::io("cannot read", a))?;
        let m = jrt_extract::buffers::read_full(&mut fb, &mut bb)
            .map_err(jrt_fs::io("cannot read", b))?;
        if n != m || ba[..n] != bb[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

/// Copies `from` (a file, a link or a whole directory) to `to`, creating its parents.
fn copy_tree(from: &Path, to: &Path) -> Result<(), BuildError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(jrt_fs::io("cannot create", parent))?;
    }
    let m = fs::symlink_metadata(from).map_err(jrt_fs::io("cannot read", from))?;
    if m.file_type().is_symlink() {
        let target = fs::read_link(from).map_err(jrt_fs::io("cannot read", from))?;
        std::os::unix::fs::symlink(&target, to).map_err(jrt_fs::io("cannot create", to))?;
    } else if m.is_dir() {
        fs::create_dir(to).map_err(jrt_fs::io("cannot create", to))?;
        let mut names: Vec<_> = fs::read_dir(from)
            .map_err(jrt_fs::io("cannot read", from))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(jrt_fs::io("cannot read", from))?;
        names.sort_by_key(|e| e.file_name());
        for e in names {
            copy_tree(&e.path(), &to.join(e.file_name()))?;
        }
    } else if m.is_file() {
        // A hard link where the filesystem allows (same one: the scratch is in `out`), else
        // a copy; packing reads it either way.
        if fs::hard_link(from, to).is_err() {
            let mut src = jrt_fs::open_regular(from).map_err(jrt_fs::io("cannot read", from))?;
            let mut dst = fs::File::create(to).map_err(jrt_fs::io("cannot create", to))?;
            std::io::copy(&mut src, &mut dst).map_err(jrt_fs::io("cannot write", to))?;
            fs::set_permissions(to, m.permissions()).map_err(jrt_fs::io("cannot write", to))?;
        }
    }
    Ok(())
}
