//! Applying an OCI layer over a tree already extracted (a runtime built on another one).
//!
//! The layer is first extracted on its own by [`crate::extract`], with every check a package
//! gets, into a scratch directory beside the tree; then its entries are moved in, in order:
//! `.wh.NAME` deletes NAME, `.wh..wh..opq` empties its directory of what lower layers put
//! there, and anything else replaces whatever is at its path (a directory of the layer
//! replaces a lower layer's link of that name). The tree is walked with `lstat` and never
//! through a symlink (a lower layer's link must not redirect a higher layer's files), and the
//! links of the result are checked again as a whole, since links that are harmless in each
//! layer can combine into an escape.

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
    entries: &dyn Fn(u64),
) -> Result<Extracted, ExtractError> {
    let parent = tree.parent().unwrap_or(tree);
    let scratch = tempfile::Builder::new()
        .prefix(".layer-")
        .tempdir_in(parent)
        .map_err(|e| jrt_fs::io("cannot create a directory in", parent)(e))?;
    let layer = crate::extract_observed(reader, scratch.path(), limits, entries)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    enum E<'a> {
        Dir(&'a str),
        File(&'a str, &'a str),
        Link(&'a str, &'a str),
    }

    /// A package `top/…` holding `entries`, gzip-compressed.
    fn tgz(entries: &[E<'_>]) -> Vec<u8> {
        let mut tar = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_size(0);
        tar.append_data(&mut dir.clone(), "top/", std::io::empty())
            .unwrap();
        for e in entries {
            match e {
                E::Dir(p) => tar
                    .append_data(&mut dir.clone(), format!("top/{p}/"), std::io::empty())
                    .unwrap(),
                E::File(p, body) => {
                    let mut h = tar::Header::new_gnu();
                    h.set_mode(0o644);
                    h.set_size(body.len() as u64);
                    tar.append_data(&mut h, format!("top/{p}"), body.as_bytes())
                        .unwrap();
                }
                E::Link(p, target) => {
                    let mut h = tar::Header::new_gnu();
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    tar.append_link(&mut h, format!("top/{p}"), target).unwrap();
                }
            }
        }
        let raw = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    }

    /// `base` extracted into a fresh tree (inside a staging directory), then `layer` over it.
    fn apply(
        base: &[E<'_>],
        layer: &[E<'_>],
    ) -> (tempfile::TempDir, Result<Extracted, ExtractError>) {
        let staging = tempfile::tempdir().unwrap();
        let tree = staging.path().join("tree");
        fs::create_dir(&tree).unwrap();
        let limits = Limits::default();
        let below = crate::extract(tgz(base).as_slice(), &tree, &limits).unwrap();
        let result = extract_layer(tgz(layer).as_slice(), &tree, &limits, below, &|_| {});
        (staging, result)
    }

    fn paths(x: &Extracted) -> Vec<String> {
        let mut p: Vec<String> = x.records.iter().map(|r| r.path.clone()).collect();
        p.sort();
        p
    }

    #[test]
    fn whiteouts_delete_opaque_directories_hide_and_entries_replace() {
        let (staging, result) = apply(
            &[
                E::Dir("a"),
                E::File("a/x", "x"),
                E::File("a/y", "y"),
                E::Dir("b"),
                E::File("b/z", "old"),
                E::File("c", "c"),
                E::Dir("d"),
                E::File("d/inner", "i"),
                E::Link("link", "a/x"),
            ],
            &[
                E::File(".wh.c", ""),
                E::Dir("a"),
                E::File("a/.wh..wh..opq", ""),
                E::File("a/new", "n"),
                E::File("b/z", "new"),
                E::File("d", "now a file"),
                E::File("link", "now a file too"),
            ],
        );
        let x = result.unwrap();
        let tree = staging.path().join("tree");
        assert!(!tree.join("c").exists(), "whited out");
        assert!(
            !tree.join("a/x").exists() && !tree.join("a/y").exists(),
            "opaque"
        );
        assert_eq!(fs::read_to_string(tree.join("a/new")).unwrap(), "n");
        assert_eq!(fs::read_to_string(tree.join("b/z")).unwrap(), "new");
        assert_eq!(fs::read_to_string(tree.join("d")).unwrap(), "now a file");
        assert!(
            !fs::symlink_metadata(tree.join("link"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(!tree.join("a/.wh..wh..opq").exists() && !tree.join(".wh.c").exists());
        assert_eq!(paths(&x), ["a", "a/new", "b", "b/z", "d", "link"]);
        // The scratch directory beside the tree is gone.
        let left: Vec<_> = fs::read_dir(staging.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
    }

    #[test]
    fn a_layer_never_writes_through_a_lower_layers_symlink() {
        // The layer's `l/` (its parent of `l/evil`) replaces the lower layer's link `l`;
        // nothing lands where the link pointed.
        let (staging, result) = apply(
            &[E::Dir("sub"), E::Link("l", "sub")],
            &[E::File("l/evil", "x")],
        );
        result.unwrap();
        let tree = staging.path().join("tree");
        assert!(fs::symlink_metadata(tree.join("l")).unwrap().is_dir());
        assert!(tree.join("l/evil").is_file());
        assert!(!tree.join("sub/evil").exists(), "written through the link");
    }

    #[test]
    fn links_that_escape_only_together_are_refused() {
        // `x -> y/z/../..` is the tree's top while y is a directory; the layer makes y a link
        // to `.` (harmless alone), and x then resolves to the tree's parent.
        let (_s, result) = apply(
            &[E::Dir("y"), E::Dir("y/z"), E::Link("x", "y/z/../..")],
            &[E::Dir("z"), E::Link("y", ".")],
        );
        let e = result.unwrap_err().to_string();
        assert!(e.contains("'x'") && e.contains("outside"), "{e}");
    }

    #[test]
    fn a_whiteout_of_no_name_is_refused() {
        let (_s, result) = apply(&[E::File("f", "f")], &[E::File(".wh.", "")]);
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("whiteout of no name")
        );
    }
}
