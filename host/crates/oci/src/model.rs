//! The OCI image-spec documents jrt reads and writes (descriptors, image manifests, image
//! indexes), parsed with caps and the JSON path of whatever is wrong. Only what jrt uses is
//! modelled; unknown fields are ignored on reading, as the spec asks.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use jrt_client::pin::Checksum;

/// The OCI image manifest media type.
pub const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type.
pub const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// Docker's manifest list, which registries and tools may hand back for an index.
pub const DOCKER_LIST_TYPE: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// The most a manifest or index may weigh: the distribution registry's own limit.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Descriptors one manifest or index may list.
pub const MAX_DESCRIPTORS: usize = 1024;

/// A content digest. jrt writes and accepts sha256 only (what every registry computes by
/// default); another algorithm is refused by name rather than trusted unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest(pub Checksum);

/// A digest jrt cannot use.
#[derive(Debug, Clone, thiserror::Error)]
#[error("'{}' is not a sha256 digest ({why})", jrt_input::display::one_line(.text))]
pub struct DigestError {
    pub text: String,
    pub why: &'static str,
}

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Checksum::of(bytes))
    }

    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let err = |why| DigestError {
            text: text.chars().take(80).collect(),
            why,
        };
        let (algorithm, hex) = text
            .split_once(':')
            .ok_or_else(|| err("no algorithm: before the hex"))?;
        if algorithm != "sha256" {
            return Err(err("jrt verifies sha256 only"));
        }
        // The image spec: sha256's encoding is lowercase hex, exactly.
        if !jrt_fs::is_sha256_hex(hex) || hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(err("not 64 lowercase hex digits"));
        }
        Checksum::parse(text)
            .map(Digest)
            .map_err(|_| err("not 64 lowercase hex digits"))
    }

    pub fn hex(&self) -> String {
        self.0.hex()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0.hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What a descriptor points at. Fields are in the order of the image spec's own Go types,
/// so a tool that reads and writes an index again (skopeo's `copy --preserve-digests`)
/// writes the same bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

/// An index entry's platform (fields in the Go type's order, as for [`Descriptor`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest: a config blob and layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image index: manifests, one per platform (and jrt's source package).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A document that is not what it should be, with the JSON path of the fault.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DocumentError {
    pub path: String,
    pub message: String,
}

/// Either kind of document a manifest endpoint serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    Manifest(Manifest),
    Index(Index),
}

impl Document {
    /// Parses a manifest or index by the media type it declares (in the body, else in the
    /// response's `Content-Type`).
    pub fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Document, DocumentError> {
        let whole = |message: String| DocumentError {
            path: "(document)".into(),
            message,
        };
        jrt_input::caps::size(bytes, MAX_MANIFEST_BYTES)
            .and_then(|()| jrt_input::caps::json_depth(bytes))
            .map_err(|e| whole(e.to_string()))?;
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Peek {
            media_type: Option<String>,
            manifests: Option<serde_json::Value>,
        }
        let peek: Peek = serde_json::from_slice(bytes).map_err(|e| whole(e.to_string()))?;
        let media_type = peek
            .media_type
            .or_else(|| content_type.map(|c| c.split(';').next().unwrap_or(c).trim().to_string()));
        let is_index = match media_type.as_deref() {
            Some(INDEX_TYPE | DOCKER_LIST_TYPE) => true,
            Some(MANIFEST_TYPE) => false,
            // No type anywhere: the shape decides, as the image spec allows.
            _ => peek.manifests.is_some(),
        };
        let doc = if is_index {
            Document::Index(parse(bytes)?)
        } else {
            Document::Manifest(parse(bytes)?)
        };
        let count = match &doc {
            Document::Index(i) => i.manifests.len(),
            Document::Manifest(m) => m.layers.len(),
        };
        if count > MAX_DESCRIPTORS {
            return Err(whole(format!(
                "it lists {count} descriptors, more than the {MAX_DESCRIPTORS} jrt accepts"
            )));
        }
        Ok(doc)
    }
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, DocumentError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| DocumentError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}

/// Canonical bytes for a document jrt writes: compact JSON with fields in declaration order
/// and sorted annotations, so the same content always has the same digest.
pub fn to_bytes<T: Serialize>(doc: &T) -> Vec<u8> {
    serde_json::to_vec(doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_sha256_or_refused_by_name() {
        let d = Digest::of(b"x");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        let e = Digest::parse(&format!("sha512:{}", "a".repeat(128))).unwrap_err();
        assert!(e.to_string().contains("sha256 only"), "{e}");
        assert!(Digest::parse(&format!("sha256:{}", "A".repeat(64))).is_err());
    }

    #[test]
    fn documents_are_told_apart_and_capped() {
        let d = Digest::of(b"c");
        let m = format!(
            r#"{{"schemaVersion":2,"mediaType":"{MANIFEST_TYPE}","config":{{"mediaType":"x","digest":"{d}","size":1}},"layers":[]}}"#
        );
        assert!(matches!(
            Document::parse(m.as_bytes(), None),
            Ok(Document::Manifest(_))
        ));
        let i = r#"{"schemaVersion":2,"manifests":[]}"#;
        assert!(matches!(
            Document::parse(i.as_bytes(), Some(INDEX_TYPE)),
            Ok(Document::Index(_))
        ));
        let bad =
            r#"{"schemaVersion":2,"manifests":[{"mediaType":"x","digest":"sha256:zz","size":1}]}"#;
        let e = Document::parse(bad.as_bytes(), None).unwrap_err();
        assert!(e.path.contains("manifests[0].digest"), "{e}");
        let big = vec![b' '; (MAX_MANIFEST_BYTES + 1) as usize];
        assert!(Document::parse(&big, None).is_err());
    }
}
