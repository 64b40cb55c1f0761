//! `jrt cache dir | size | prune | clean`: where the cache is, what it holds, and freeing it.
//!
//! `prune` removes what nothing installed needs: packages and OCI layers no install receipt
//! names, builds no installed runtime's setup fetched, downloads left half-done, packages
//! packed from source directories, and compiled plugin code for another engine or for
//! plugins no longer present; `--older-than DAYS` spares what was touched more recently.
//! `clean` removes everything but the registry serials that stop rollbacks (`trust/`). Both
//! hold the cache's lock exclusively, so they wait for installs to finish and installs wait
//! for them: nothing is removed from under a running install.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use jrt_fs::cache::Cache;

use super::{Error, Session};

/// What one area of the cache holds.
#[derive(Debug, Clone, Serialize)]
pub struct Area {
    pub name: &'static str,
    pub path: PathBuf,
    pub files: u64,
    pub bytes: u64,
}

/// What `jrt cache size` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Sizes {
    pub root: PathBuf,
    pub areas: Vec<Area>,
    pub bytes: u64,
}

/// One file removed.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    pub path: PathBuf,
    pub bytes: u64,
    /// Why it could go.
    pub reason: &'static str,
}

/// What `prune` or `clean` freed.
#[derive(Debug, Clone, Serialize)]
pub struct Freed {
    pub removed: Vec<Removed>,
    pub bytes: u64,
}

fn areas(cache: &Cache) -> [(&'static str, PathBuf); 6] {
    [
        ("packages", cache.packages()),
        ("fetched", cache.fetched()),
        ("compiled", cache.compiled()),
        ("registries", cache.registries()),
        ("packed", cache.packed()),
        ("trust", cache.trust()),
    ]
}

/// The files directly in `dir` (the cache's areas are flat), links not followed: an area
/// that is itself a link (shared with another cache) is not pruned through it.
fn files(dir: &Path) -> Vec<(PathBuf, std::fs::Metadata)> {
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return Vec::new();
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let m = std::fs::symlink_metadata(e.path()).ok()?;
            Some((e.path(), m))
        })
        .collect()
}

/// Bytes under `path`, links not followed.
fn du(path: &Path) -> (u64, u64) {
    let mut total = (0, 0);
    let _ = jrt_fs::walk(
        path,
        |_, _, e| e,
        |_, m| {
            if !m.is_dir() {
                total.0 += 1;
                total.1 += m.len();
            }
            Ok::<_, std::io::Error>(())
        },
    );
    total
}

/// `jrt cache size`.
pub fn sizes(session: &Session) -> Result<Sizes, Error> {
    let cache = session.cache()?;
    let areas: Vec<Area> = areas(cache)
        .into_iter()
        .map(|(name, path)| {
            let (files, bytes) = du(&path);
            Area {
                name,
                path,
                files,
                bytes,
            }
        })
        .collect();
    Ok(Sizes {
        root: cache.root().to_path_buf(),
        bytes: areas.iter().map(|a| a.bytes).sum(),
        areas,
    })
}

/// The exclusive hold on the cache.
fn lock(cache: &Cache) -> Result<jrt_fs::lock::Lock, Error> {
    let path = cache.lock_path();
    std::fs::create_dir_all(cache.root()).map_err(jrt_fs::io("cannot create", cache.root()))?;
    Ok(jrt_fs::lock::exclusive(&path).map_err(jrt_fs::io("cannot lock", &path))?)
}

fn remove(
    path: &Path,
    meta: &std::fs::Metadata,
    reason: &'static str,
    freed: &mut Freed,
) -> Result<(), Error> {
    let (bytes, result) = if meta.is_dir() {
        (du(path).1, std::fs::remove_dir_all(path))
    } else {
        (meta.len(), std::fs::remove_file(path))
    };
    result.map_err(jrt_fs::io("cannot remove", path))?;
    freed.bytes += bytes;
    freed.removed.push(Removed {
        path: path.to_path_buf(),
        bytes,
        reason,
    });
    Ok(())
}

/// `jrt cache prune [--older-than DAYS]`.
pub fn prune(session: &Session, older_than_days: Option<u64>) -> Result<Freed, Error> {
    let cache = session.cache()?;
    let _lock = lock(cache)?;
    // What the installed runtimes came from: their packages or layers, and their builds.
    let mut needed: HashSet<String> = HashSet::new();
    for installed in super::installed::installed(&session.layout) {
        let receipt_path = jrt_install::layout::receipt_path(&installed.path);
        if let Ok(receipt) = jrt_install::receipt::Receipt::read(&receipt_path) {
            needed.insert(receipt.checksum.trim_start_matches("sha256:").to_string());
            needed.extend(receipt.cache_entries);
        }
    }
    // Compiled code this jrt would load: the built-ins' and the added plugins'.
    let ctx = session.plugins()?;
    let mut plugins: Vec<String> = crate::builtin::BUILTIN
        .iter()
        .map(|b| b.sha256.to_string())
        .collect();
    plugins.extend(ctx.catalog.entries()?.into_iter().map(|e| e.sha256));
    let compiled: HashSet<String> = plugins
        .iter()
        .filter_map(|sha| ctx.host.compiled_file_name(sha))
        .collect();

    let cutoff = older_than_days.map(|d| SystemTime::now() - Duration::from_secs(d * 86_400));
    let old_enough = |m: &std::fs::Metadata| match cutoff {
        None => true,
        Some(c) => m.modified().is_ok_and(|t| t < c),
    };
    let mut freed = Freed {
        removed: Vec::new(),
        bytes: 0,
    };
    // `<sha256>.tar.gz` and `<sha256>`, with `.part` (half-done) and `.lock` files.
    for (area, suffix) in [(cache.packages(), ".tar.gz"), (cache.fetched(), "")] {
        for (path, meta) in files(&area) {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let reason = if name.ends_with(".part") {
                "an unfinished download"
            } else if name.ends_with(".lock") {
                "a download's lock"
            } else if let Some(sha) = name
                .strip_suffix(suffix)
                .filter(|s| jrt_fs::is_sha256_hex(s))
            {
                if needed.contains(sha) {
                    continue;
                }
                "no installed runtime came from it"
            } else {
                continue;
            };
            if old_enough(&meta) {
                remove(&path, &meta, reason, &mut freed)?;
            }
        }
    }
    for (path, meta) in files(&cache.packed()) {
        if old_enough(&meta) {
            remove(
                &path,
                &meta,
                "packed from a source directory: made again when needed",
                &mut freed,
            )?;
        }
    }
    for (path, meta) in files(&cache.compiled()) {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !name.ends_with(".cwasm") || compiled.contains(&name) {
            continue;
        }
        if old_enough(&meta) {
            remove(
                &path,
                &meta,
                "compiled for another engine or a plugin no longer present",
                &mut freed,
            )?;
        }
    }
    Ok(freed)
}

/// `jrt cache clean`: everything but `trust/`.
pub fn clean(session: &Session) -> Result<Freed, Error> {
    let cache = session.cache()?;
    let _lock = lock(cache)?;
    let mut freed = Freed {
        removed: Vec::new(),
        bytes: 0,
    };
    for (name, path) in areas(cache) {
        if name == "trust" {
            continue;
        }
        if let Ok(meta) = std::fs::symlink_metadata(&path) {
            remove(&path, &meta, "jrt cache clean", &mut freed)?;
        }
    }
    Ok(freed)
}
