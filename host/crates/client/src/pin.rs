//! What a download is pinned by: its checksum (`sha256:<64 hex digits>`, as registry.json
//! writes them) and its [`Size`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A checksum that is not `sha256:` and 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a checksum of the form sha256:<64 hex digits>")]
pub struct ChecksumError {
    pub text: String,
}

/// `sha256:<64 lower-case hex>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Checksum([u8; 32]);

impl Checksum {
    /// The checksum of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Checksum(sha2::Sha256::digest(bytes).into())
    }

    pub fn from_digest(digest: [u8; 32]) -> Self {
        Checksum(digest)
    }

    pub fn digest(&self) -> &[u8; 32] {
        &self.0
    }

    /// The bare hex digest.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn parse(text: &str) -> Result<Self, ChecksumError> {
        let bad = || ChecksumError {
            text: text.to_string(),
        };
        let hex_part = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if !jrt_fs::is_sha256_hex(hex_part) {
            return Err(bad());
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(hex_part.to_ascii_lowercase(), &mut digest).map_err(|_| bad())?;
        Ok(Checksum(digest))
    }
}

impl fmt::Display for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Checksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Checksum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Checksum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Checksum::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// How large a download may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Exactly this many bytes: a package, as its registry declares it.
    Declared(u64),
    /// As long as the server says, up to this many bytes: a file pinned by its sha256 alone
    /// (the builds setup plans fetch).
    AtMost(u64),
}

impl Size {
    /// The most bytes the download may have.
    pub fn limit(self) -> u64 {
        match self {
            Size::Declared(n) | Size::AtMost(n) => n,
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::Declared(n) => write!(f, "the {n} bytes the registry declares"),
            Size::AtMost(n) => write!(f, "the {n}-byte limit"),
        }
    }
}
