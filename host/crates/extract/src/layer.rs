//! Applying an OCI layer over a tree already extracted (a runtime built on another one).
//!
//! The layer is first extracted on its own by [`crate::extract`], with every check a package
//! gets, into a scratch directory beside the tree; then its entries are moved in, in order:
//! `.wh.NAME` deletes NAME, `.wh..wh..opq` empties its directory of what lower layers put
//! there, and anything else replaces whatever is at its path. The tree is walked with
//! `lstat` and never through a symlink (a lower layer's link must not redirect a higher
//! layer's files), and the links of the result are checked again as a whole, since links
//! that are harmless in each layer can combine into an escape.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::{ExtractError, Extracted, Kind, Limits, Record, unsafe_entry};

/// The prefix of a whiteout file: `.wh.NAME` deletes NAME from the layers below.
pub const WHITEOUT: &str = ".wh.";
/// The opaque whiteout: its directory hides everything the layers below put in it.
pub const OPAQUE: &str = ".wh..wh..opq";

/// Applies the gzip-compressed tar layer `reader` over `tree`, whose records are `below`;
/// returns the records of the result.
pub fn extract_layer(
    reader: impl std::io::Read,
    tree: &Path,
    limits: &Limits,
    below: Extracted,
) -> Result<Extracted, ExtractError> {
    let parent = tree.parent().unwrap_or(tree);
    let scratch = tempfile::Builder::new()
        .prefix(".layer-")
        .tempdir_in(parent)
        .map_err(|e| jrt_fs::io("cannot create a directory in", parent)(e))?;
    let layer = crate::extract(reader, scratch.path(), limits)?;
    let mut removed: Vec<String> = Vec::new();
    let mut added: Vec<Record> = Vec::new();

    // Opaque directories first: they hide what was below, not what this layer adds.
    for r in &layer.records {
        let (dir, name) = split(&r.path);
        if name == OPAQUE {
            let at = real_dir(tree, dir, &r.path)?;
            if let Some(at) = at {
                for child in fs::read_dir(&at).map_err(|e| jrt_fs::io("cannot read", &at)(e))? {
                    let child = child.map_err(|e| jrt_fs::io("cannot read", &at)(e))?;
                    remove(&child.path())?;
                    removed.push(join(dir, &child.file_name().to_string_lossy()));
                }
            }
        }
    }
    for r in &layer.records {
        let (dir, name) = split(&r.path);
        if name == OPAQUE {
            continue;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            if hidden.is_empty() || hidden == "." || hidden == ".." || hidden.contains('/') {
                return Err(unsafe_entry(&r.path, "it is a whiteout of no name"));
            }
            if let Some(at) = real_dir(tree, dir, &r.path)? {
                let victim = at.join(hidden);
                if fs::symlink_metadata(&victim).is_ok() {
                    remove(&victim)?;
                }
            }
            removed.push(join(dir, hidden));
            continue;
        }
        let at = real_dir(tree, dir, &r.path)?
            .ok_or_else(|| unsafe_entry(&r.path, "its directory is missing"))?;
        let target = at.join(name);
        let source = scratch.path().join(&r.path);
        let existing = fs::symlink_metadata(&target).ok();
        match (&r.kind, existing) {
            (Kind::Dir, Some(m)) if m.is_dir() => {
                let mode = fs::symlink_metadata(&source)
                    .map_err(|e| jrt_fs::io("cannot read", &source)(e))?
                    .permissions()
                    .mode();
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                    .map_err(|e| jrt_fs::io("cannot set the mode of", &target)(e))?;
                continue;
            }
            (_, Some(_)) => {
                remove(&target)?;
                removed.push(r.path.clone());
            }
            (_, None) => {}
        }
        if matches!(r.kind, Kind::Dir) {
            let mode = fs::symlink_metadata(&source)
                .map_err(|e| jrt_fs::io("cannot read", &source)(e))?
                .permissions()
                .mode();
            fs::create_dir(&target).map_err(|e| jrt_fs::io("cannot create", &target)(e))?;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| jrt_fs::io("cannot set the mode of", &target)(e))?;
        } else {
            fs::rename(&source, &target).map_err(|e| jrt_fs::io("cannot move into", &target)(e))?;
        }
        added.push(r.clone());
    }

    // What stays of the layers below: everything not removed or replaced, nor under such.
    let gone = |p: &str| {
        removed.iter().any(|g| {
            p == g || (p.starts_with(g.as_str()) && p.as_bytes().get(g.len()) == Some(&b'/'))
        })
    };
    let mut records: Vec<Record> = below
        .records
        .into_iter()
        .filter(|r| !gone(&r.path))
        .collect();
    let present: std::collections::HashSet<String> = records
        .iter()
        .filter(|r| matches!(r.kind, Kind::Dir))
        .map(|r| r.path.clone())
        .collect();
    records.extend(
        added
            .into_iter()
            .filter(|r| !(matches!(r.kind, Kind::Dir) && present.contains(&r.path))),
    );
    crate::check_links_resolve(
        tree,
        records.iter().filter_map(|r| match r.kind {
            Kind::Symlink { .. } => Some(r.path.as_str()),
            _ => None,
        }),
    )?;
    Ok(Extracted {
        top: below.top,
        records,
        bytes: below.bytes.saturating_add(layer.bytes),
    })
}

/// `a/b/c` → (`a/b`, `c`); `c` → (``, `c`).
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// `tree/dir` when every component of it is a real directory (none a symlink); `None` when
/// some component does not exist. A symlink or a file on the way is refused: the layer
/// would otherwise be written through a lower layer's link.
fn real_dir(
    tree: &Path,
    dir: &str,
    entry: &str,
) -> Result<Option<std::path::PathBuf>, ExtractError> {
    let mut at = tree.to_path_buf();
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.is_dir() => {}
            Ok(m) if m.file_type().is_symlink() => {
                return Err(unsafe_entry(
                    entry,
                    format!("it would be written through the symlink '{part}' of a lower layer"),
                ));
            }
            Ok(_) => {
                return Err(unsafe_entry(
                    entry,
                    format!("'{part}' is a file in a lower layer, and this layer puts files in it"),
                ));
            }
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(at))
}

fn remove(path: &Path) -> Result<(), ExtractError> {
    let m = fs::symlink_metadata(path).map_err(|e| jrt_fs::io("cannot read", path)(e))?;
    if m.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    }
    .map_err(|e| jrt_fs::io("cannot remove", path)(e).into())
}
