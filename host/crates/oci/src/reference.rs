//! `oci://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST]`: where a runtime lives in an OCI
//! registry, checked against the distribution spec's grammar before any request is made
//! (a repository name becomes part of every URL jrt builds).

use std::fmt;

use crate::model::Digest;

/// The longest repository name the distribution spec lets registries accept.
const MAX_REPOSITORY: usize = 255;

/// A repository in a registry, and optionally one tag or digest in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// `HOST` or `HOST:PORT`, as the registry is addressed (and as Docker's config names it).
    pub host: String,
    /// Such as `joblet` (a namespace) or `joblet/python-3.11`.
    pub repository: String,
    pub reference: Option<Reference>,
}

/// A tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag(String),
    Digest(Digest),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => f.write_str(t),
            Reference::Digest(d) => write!(f, "{d}"),
        }
    }
}

/// A location that cannot be used, and why.
#[derive(Debug, Clone, thiserror::Error)]
#[error("'{}' is not an OCI location: {why} (the form is oci://HOST[:PORT]/REPOSITORY[:TAG|@sha256:DIGEST])", jrt_input::display::one_line(.text))]
pub struct LocationError {
    pub text: String,
    pub why: String,
}

impl Location {
    /// Parses `oci://…` as the user or a registry.json wrote it.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        let err = |why: &str| LocationError {
            text: text.to_string(),
            why: why.to_string(),
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| err("it does not start with oci://"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| err("it names no repository after the host"))?;
        if !is_host(host) {
            return Err(err(
                "the host is not a host name or address with an optional port",
            ));
        }
        let path = path.trim_end_matches('/');
        let (repository, reference) = if let Some((repo, digest)) = path.split_once('@') {
            let digest = Digest::parse(digest).map_err(|e| err(&e.to_string()))?;
            (repo, Some(Reference::Digest(digest)))
        } else {
            // A tag follows the last ':' of the last path component (a port is in the host).
            let last = path.rsplit('/').next().unwrap_or(path);
            match last.rsplit_once(':') {
                Some((_, tag)) => {
                    if !is_tag(tag) {
                        return Err(err("the tag has characters a tag may not have"));
                    }
                    (
                        &path[..path.len() - tag.len() - 1],
                        Some(Reference::Tag(tag.to_string())),
                    )
                }
                None => (path, None),
            }
        };
        check_repository(repository).map_err(|why| err(&why))?;
        Ok(Location {
            host: host.to_ascii_lowercase(),
            repository: repository.to_string(),
            reference,
        })
    }

    /// The repository `<this repository>/<name>` (a runtime in a namespace).
    pub fn child(&self, name: &str) -> Result<Location, LocationError> {
        let repository = format!("{}/{name}", self.repository);
        check_repository(&repository).map_err(|why| LocationError {
            text: format!("oci://{}/{repository}", self.host),
            why,
        })?;
        Ok(Location {
            host: self.host.clone(),
            repository,
            reference: None,
        })
    }

    /// The repository alone, without a tag or digest (where its blobs are).
    pub fn repository(&self) -> Location {
        Location {
            reference: None,
            ..self.clone()
        }
    }

    /// The same repository at `reference`.
    pub fn at(&self, reference: Reference) -> Location {
        Location {
            reference: Some(reference),
            ..self.clone()
        }
    }

    /// The registry's own base URL: https, except for this machine (a local registry or a
    /// node's pull-through cache), which is spoken to over plain http as Docker does.
    pub fn registry_url(&self) -> url::Url {
        let host = self.host.split(':').next().unwrap_or(&self.host);
        let local = host == "localhost" || host == "[::1]" || host.starts_with("127.");
        let scheme = if local { "http" } else { "https" };
        // Checked by `is_host`, so it parses.
        url::Url::parse(&format!("{scheme}://{}/", self.host))
            .unwrap_or_else(|_| url::Url::parse("https://invalid.invalid/").expect("static URL"))
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "oci://{}/{}", self.host, self.repository)?;
        match &self.reference {
            Some(Reference::Tag(t)) => write!(f, ":{t}"),
            Some(Reference::Digest(d)) => write!(f, "@{d}"),
            None => Ok(()),
        }
    }
}

fn is_host(host: &str) -> bool {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !host.ends_with(']') => (n, Some(p)),
        _ => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    let name_ok = if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        inner.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !name.is_empty()
            && name.len() <= 253
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    port_ok && name_ok
}

/// The distribution spec's tag grammar: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    let mut bytes = tag.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && tag.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The tag a version is published under: semver's `+` is not a tag character, so it is
/// written `_` (as Helm does), and read back by [`version_of_tag`].
pub fn tag_of_version(version: &str) -> String {
    version.replace('+', "_")
}

/// The version a tag stands for, if it is one jrt wrote.
pub fn version_of_tag(tag: &str) -> String {
    tag.replace('_', "+")
}

/// The distribution spec's repository grammar: lowercase path components of
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` joined by `/`.
fn check_repository(repo: &str) -> Result<(), String> {
    if repo.is_empty() {
        return Err("the repository is empty".into());
    }
    if repo.len() > MAX_REPOSITORY {
        return Err(format!(
            "the repository is longer than {MAX_REPOSITORY} characters"
        ));
    }
    for component in repo.split('/') {
        let ok = !component.is_empty()
            && component
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && component
                .bytes()
                .last()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && component
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && !component.contains("..")
            && !component.contains("___")
            && !component.contains("._")
            && !component.contains("_.")
            && !component.contains(".-")
            && !component.contains("-.")
            && !component.contains("_-")
            && !component.contains("-_");
        if !ok {
            return Err(format!(
                "the repository component '{}' is not lowercase letters and digits joined by \
                 '.', '_', '__' or '-'",
                jrt_input::display::one_line(component)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_tags_and_digests_parse() {
        let l = Location::parse("oci://127.0.0.1:5000/joblet").unwrap();
        assert_eq!(
            (l.host.as_str(), l.repository.as_str(), l.reference.clone()),
            ("127.0.0.1:5000", "joblet", None)
        );
        assert_eq!(l.registry_url().as_str(), "http://127.0.0.1:5000/");
        let l = Location::parse("oci://ghcr.io/joblet/python-3.11:1.3.4").unwrap();
        assert_eq!(l.repository, "joblet/python-3.11");
        assert_eq!(l.reference, Some(Reference::Tag("1.3.4".into())));
        assert_eq!(l.registry_url().as_str(), "https://ghcr.io/");
        let d = "a".repeat(64);
        let l = Location::parse(&format!("oci://ghcr.io/joblet/python-3.11@sha256:{d}")).unwrap();
        assert_eq!(
            l.to_string(),
            format!("oci://ghcr.io/joblet/python-3.11@sha256:{d}")
        );
        assert_eq!(
            l.child("x").unwrap().repository,
            "joblet/python-3.11/x",
            "a child is a repository below"
        );
    }

    #[test]
    fn what_would_break_a_url_is_refused() {
        for bad in [
            "https://ghcr.io/joblet",
            "oci://ghcr.io",
            "oci://ghcr.io/",
            "oci://ghcr.io/Joblet",
            "oci://ghcr.io/joblet/../x",
            "oci://ghcr.io/joblet/x?y",
            "oci://ghcr.io/joblet//x",
            "oci://gh cr.io/joblet",
            "oci://ghcr.io:99999/joblet",
            "oci://ghcr.io/joblet/x:bad/tag",
            "oci://ghcr.io/joblet/x:.tag",
            "oci://ghcr.io/joblet/x@sha256:abc",
            "oci://ghcr.io/joblet/x@md5:0123",
        ] {
            assert!(Location::parse(bad).is_err(), "{bad} parsed");
        }
        let long = format!("oci://ghcr.io/{}", "a".repeat(300));
        assert!(
            Location::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("255")
        );
    }

    #[test]
    fn versions_round_trip_through_tags() {
        for v in ["1.3.4", "2.0.0-rc.1", "1.0.0+build.5"] {
            let tag = tag_of_version(v);
            assert!(is_tag(&tag), "{tag}");
            assert_eq!(version_of_tag(&tag), v);
        }
    }
}
