//! `jrt registry sign` and `jrt registry verify`: a registry.json dated (`expires`), given the
//! next `serial`, and signed in minisign's format, so clients with the public key refuse a
//! stale or replayed copy; and the same checks a client makes, run on a file.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use minisign::{PublicKey, SecretKey, SecretKeyBox};

use jrt_registry::Index;
use jrt_registry::signature::{self, SignatureError};

/// Why an index could not be signed or did not verify.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("{} is not a usable minisign secret key: {reason}", path.display())]
    BadSecretKey { path: PathBuf, reason: String },
    #[error(transparent)]
    Index(#[from] jrt_registry::IndexError),
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// Where the signature of `index` lives: `<index>.minisig`.
pub fn signature_path(index: &Path) -> PathBuf {
    PathBuf::from(format!("{}.minisig", index.display()))
}

/// Sets `expires` (`expires_in_days` from now) and the next `serial` in the registry.json at
/// `index`, then signs its exact bytes with the secret key file `key` into
/// `<index>.minisig`; both written atomically. An index jrt would refuse to read is not
/// signed. Returns the signature's path.
pub fn sign_index(
    index: &Path,
    key: &Path,
    password: &str,
    expires_in_days: u32,
) -> Result<PathBuf, SignError> {
    let bytes = std::fs::read(index).map_err(jrt_fs::io("cannot read", index))?;
    let mut parsed = Index::parse(&bytes, &index.display().to_string())?;
    // Clients with a key require both: a stale copy must expire, and an older one must not
    // be replayed after this one.
    parsed.expires = Some(jrt_fs::time::format(
        jrt_fs::time::now() + i64::from(expires_in_days) * 86400,
    ));
    parsed.serial = Some(parsed.serial.unwrap_or(0) + 1);
    let bytes = parsed.to_json();
    jrt_fs::write_atomic(index, &bytes).map_err(jrt_fs::io("cannot write", index))?;
    let name = index
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sig = sign(&bytes, key, password, &name)?;
    let sig_path = signature_path(index);
    jrt_fs::write_atomic(&sig_path, sig.as_bytes())
        .map_err(jrt_fs::io("cannot write", &sig_path))?;
    Ok(sig_path)
}

/// Checks the registry.json at `index` as a client with `key` would: its signature over the
/// exact bytes, then that it parses and has not expired. Returns its serial.
pub fn verify_index(index: &Path, key: &PublicKey) -> Result<u64, SignError> {
    let bytes = std::fs::read(index).map_err(jrt_fs::io("cannot read", index))?;
    let sig_path = signature_path(index);
    let sig = std::fs::read_to_string(&sig_path).map_err(jrt_fs::io("cannot read", &sig_path))?;
    let shown = index.display().to_string();
    signature::verify(&shown, &bytes, &sig, key)?;
    let parsed = Index::parse(&bytes, &shown)?;
    signature::check_expiry(&shown, &parsed, jrt_fs::time::now())?;
    Ok(parsed.serial.unwrap_or(0))
}

/// The `.minisig` text for `bytes`, signed with the secret key file `key` (`password` empty
/// for a key made with `minisign -G -W`).
pub fn sign(
    bytes: &[u8],
    key: &Path,
    password: &str,
    file_name: &str,
) -> Result<String, SignError> {
    let bad = |reason: String| SignError::BadSecretKey {
        path: key.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(key).map_err(|e| bad(e.to_string()))?;
    let sk: SecretKey = match unencrypted_key_bytes(&text) {
        Some(bytes) => SecretKey::from_bytes(&bytes).map_err(|e| bad(e.to_string()))?,
        None => SecretKeyBox::from_string(&text)
            .and_then(|b| b.into_secret_key(Some(password.to_string())))
            .map_err(|e| bad(e.to_string()))?,
    };
    // The CLI's own trusted comment, so `minisign -V` prints the same kind of line.
    let trusted = format!(
        "timestamp:{}\tfile:{file_name}\thashed",
        jrt_fs::time::now()
    );
    let sig = minisign::sign(
        None,
        &sk,
        Cursor::new(bytes),
        Some(&trusted),
        Some("signature from jrt registry sign"),
    )
    .map_err(|e| bad(e.to_string()))?;
    Ok(sig.into_string())
}

/// The raw bytes of a secret key that `minisign -G -W` wrote unencrypted (KDF algorithm
/// `\0\0`), with the checksum the CLI leaves as zeros filled in, so the minisign crate
/// accepts it; `None` for any other key.
fn unencrypted_key_bytes(text: &str) -> Option<Vec<u8>> {
    use blake2::digest::{Update, VariableOutput};
    use ct_codecs::{Base64, Decoder};
    let line = text.lines().nth(1)?.trim();
    let mut bytes = Base64::decode_to_vec(line, None).ok()?;
    // sig_alg(2) kdf_alg(2) chk_alg(2) salt(32) opslimit(8) memlimit(8) keynum(8) sk(64) chk(32)
    if bytes.len() != 158 || bytes[2..4] != [0, 0] {
        return None;
    }
    let mut hasher = blake2::Blake2bVar::new(32).ok()?;
    hasher.update(&bytes[0..2]);
    hasher.update(&bytes[54..126]);
    hasher.finalize_variable(&mut bytes[126..158]).ok()?;
    Some(bytes)
}
