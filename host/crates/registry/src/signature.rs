//! Signed registries: `registry.json.minisig` in minisign's format (so the minisign CLI
//! verifies what jrt signs, and the other way round; signing is jrt-publish's), and a client's
//! checks before it trusts
//! an index: the signature over the exact bytes (before they are parsed), the key, the
//! `expires` date, and rollback protection (a `serial` lower than the highest seen for that
//! registry is refused; the highest is kept in `<cache>/trust/serials.json`, written
//! atomically under a lock).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use minisign::{PublicKey, SignatureBox};

use super::index::Index;

#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    #[error("{0} is not a minisign public key (a key file, or its `RW…` line): {1}")]
    BadPublicKey(String, String),
    #[error("{registry}: no signature at {at} ({reason}), and a public key is configured for it")]
    Missing {
        registry: String,
        at: String,
        reason: String,
    },
    #[error("{registry}: its signature is not in minisign's format: {reason}")]
    Malformed { registry: String, reason: String },
    #[error(
        "{registry}: signed by key {signed_by}, which is not the configured key {trusted}; \
         refusing it"
    )]
    UnknownKey {
        registry: String,
        signed_by: String,
        trusted: String,
    },
    #[error("{registry}: the signature does not match its bytes (tampered or truncated): {reason}")]
    Invalid { registry: String, reason: String },
    #[error(
        "{registry}: a signed registry must have `{field}` (a public key is configured), and \
         this one has none; sign it with `jrt registry sign`, which sets both"
    )]
    MissingField {
        registry: String,
        field: &'static str,
    },
    #[error("{registry}: expired at {expires}; a registry past its `expires` date is refused")]
    Expired { registry: String, expires: String },
    #[error("{registry}: `expires` '{expires}' is not an RFC 3339 date")]
    BadExpires { registry: String, expires: String },
    #[error(
        "{registry}: serial {serial} is lower than {seen}, the highest seen for it; refusing a \
         rollback to an older registry"
    )]
    Rollback {
        registry: String,
        serial: u64,
        seen: u64,
    },
    #[error(
        "the record of registry serials {} is gone, but jrt kept one there: without it an \
         older signed index could be replayed unnoticed. Restore it from a backup, or, if it \
         was removed on purpose, remove {} as well to trust registries afresh",
        path.display(),
        marker.display()
    )]
    LostSerials { path: PathBuf, marker: PathBuf },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// A minisign key id as the CLI prints it.
fn key_id(keynum: &[u8]) -> String {
    let mut id = [0u8; 8];
    id.copy_from_slice(&keynum[..8.min(keynum.len())]);
    format!("{:016X}", u64::from_le_bytes(id))
}

/// A public key from `text`: the contents of a `.pub` file, its base64 line, or a path to one.
pub fn public_key(text: &str) -> Result<PublicKey, SignatureError> {
    let bad = |e: String| SignatureError::BadPublicKey(text.to_string(), e);
    let content = if Path::new(text).is_file() {
        std::fs::read_to_string(text).map_err(|e| bad(e.to_string()))?
    } else {
        text.to_string()
    };
    let line = content
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .unwrap_or("");
    PublicKey::from_base64(line).map_err(|e| bad(e.to_string()))
}

/// Checks `sig` over the exact `bytes` with `key`.
pub fn verify(
    registry: &str,
    bytes: &[u8],
    sig: &str,
    key: &PublicKey,
) -> Result<(), SignatureError> {
    let sig_box = SignatureBox::from_string(sig).map_err(|e| SignatureError::Malformed {
        registry: registry.to_string(),
        reason: e.to_string(),
    })?;
    let trusted = key_id(key.keynum());
    let signed_by = key_id(sig_box.keynum());
    if trusted != signed_by {
        return Err(SignatureError::UnknownKey {
            registry: registry.to_string(),
            signed_by,
            trusted,
        });
    }
    minisign::verify(key, &sig_box, Cursor::new(bytes), true, false, false).map_err(|e| {
        SignatureError::Invalid {
            registry: registry.to_string(),
            reason: e.to_string(),
        }
    })
}

/// Refuses an index past its `expires` date.
/// A signed index must carry `expires` (so a stale copy stops being trusted) and `serial` (so
/// an older one cannot be replayed after a newer one).
pub fn require_freshness(registry: &str, index: &Index) -> Result<(), SignatureError> {
    for (field, present) in [
        ("expires", index.expires.is_some()),
        ("serial", index.serial.is_some()),
    ] {
        if !present {
            return Err(SignatureError::MissingField {
                registry: registry.to_string(),
                field,
            });
        }
    }
    Ok(())
}

pub fn check_expiry(registry: &str, index: &Index, now: i64) -> Result<(), SignatureError> {
    let Some(expires) = &index.expires else {
        return Ok(());
    };
    let at = jrt_fs::time::parse(expires).ok_or_else(|| SignatureError::BadExpires {
        registry: registry.to_string(),
        expires: expires.clone(),
    })?;
    if at <= now {
        return Err(SignatureError::Expired {
            registry: registry.to_string(),
            expires: expires.clone(),
        });
    }
    Ok(())
}

/// Refuses an index whose serial is below the highest seen for `id` (the registry's source),
/// then records its serial when higher. The record is updated under a lock, atomically.
pub fn check_serial(
    state_dir: &Path,
    id: &str,
    registry: &str,
    index: &Index,
) -> Result<(), SignatureError> {
    let io = jrt_fs::io;
    std::fs::create_dir_all(state_dir).map_err(io("cannot create", state_dir))?;
    let lock_path = state_dir.join("serials.lock");
    let lock = jrt_fs::lock::exclusive(&lock_path).map_err(io("cannot lock", &lock_path))?;
    let path = state_dir.join("serials.json");
    // Written once the record first exists: a record that vanished afterwards (deleted,
    // lost with a disk) must not quietly restart rollback protection from zero.
    let kept = state_dir.join("serials.kept");
    // A record that cannot be read must not quietly turn rollback protection off.
    // One number per registry: a few MiB is far more than any real record.
    let mut seen: BTreeMap<String, u64> = match jrt_fs::read_no_follow(&path, 4 << 20) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
            jrt_fs::io("cannot read the registry serials in", &path)(std::io::Error::other(
                format!("{e}; remove it to trust registries afresh"),
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::fs::symlink_metadata(&kept).is_ok() {
                return Err(SignatureError::LostSerials {
                    path: path.clone(),
                    marker: kept,
                });
            }
            BTreeMap::new()
        }
        Err(e) => return Err(io("cannot read", &path)(e).into()),
    };
    let serial = index.serial.unwrap_or(0);
    let highest = seen.get(id).copied().unwrap_or(0);
    if serial < highest {
        return Err(SignatureError::Rollback {
            registry: registry.to_string(),
            serial,
            seen: highest,
        });
    }
    if serial > highest || !seen.contains_key(id) {
        seen.insert(id.to_string(), serial);
        let bytes = serde_json::to_vec_pretty(&seen).unwrap_or_default();
        jrt_fs::write_atomic(&path, &bytes).map_err(io("cannot write", &path))?;
    }
    if std::fs::symlink_metadata(&kept).is_err() {
        jrt_fs::write_atomic(&kept, b"serials.json exists beside this file\n")
            .map_err(io("cannot write", &kept))?;
    }
    drop(lock);
    Ok(())
}
