//! `jrt release`: the manifests' version sync, as the upstream tags do it.
//!
//! `vX.Y.Z` (the bulk tag) sets every runtime's `version`; `name@X.Y.Z` (a per-runtime tag)
//! only checks that this runtime's manifest says X.Y.Z. Every manifest is read and every new
//! text computed and re-read before the first file is written, so a failure changes nothing.
//! Only the `version:` line changes: comments and field order stay.

use std::path::{Path, PathBuf};

use serde::Serialize;

use jrt_package::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(
        "'{0}' is not a release tag: use vX.Y.Z (every runtime) or NAME@X.Y.Z (one runtime), \
         with X.Y.Z a semantic version"
    )]
    BadTag(String),
    #[error("no runtime named '{name}' under {}", dir.display())]
    UnknownRuntime { name: String, dir: PathBuf },
    #[error("{} says version {found}, but the tag {tag} says {wanted}", path.display())]
    Mismatch {
        path: PathBuf,
        found: String,
        wanted: String,
        tag: String,
    },
    #[error("{}: no top-level `version:` line to change", path.display())]
    NoVersionLine { path: PathBuf },
    #[error(transparent)]
    Manifest(#[from] jrt_package::manifest::ManifestError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A release tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    All(String),
    One { name: String, version: String },
}

impl Tag {
    pub fn parse(text: &str) -> Result<Tag, ReleaseError> {
        let bad = || ReleaseError::BadTag(text.to_string());
        let semver_ok = |v: &str| semver::Version::parse(v).is_ok();
        if let Some((name, version)) = text.split_once('@') {
            if jrt_registry::spec::is_valid_name(name) && semver_ok(version) {
                return Ok(Tag::One {
                    name: name.into(),
                    version: version.into(),
                });
            }
            return Err(bad());
        }
        match text.strip_prefix('v') {
            Some(v) if semver_ok(v) => Ok(Tag::All(v.into())),
            _ => Err(bad()),
        }
    }
}

/// One manifest's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Released {
    pub name: String,
    pub path: PathBuf,
    pub from: String,
    pub to: String,
    pub changed: bool,
}

/// Replaces the first top-level line that `new_line` rewrites (it returns the new content,
/// without the line ending, which is kept); `None` when no line was rewritten.
fn replace_line(text: &str, new_line: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut done = false;
    let mut out = String::with_capacity(text.len() + 8);
    for line in text.split_inclusive('\n') {
        match new_line(line).filter(|_| !done) {
            Some(new) => {
                let ending = if line.ends_with("\r\n") {
                    "\r\n"
                } else if line.ends_with('\n') {
                    "\n"
                } else {
                    ""
                };
                out.push_str(&new);
                out.push_str(ending);
                done = true;
            }
            None => out.push_str(line),
        }
    }
    done.then_some(out)
}

/// Replaces the value of the first top-level `version:` line.
fn set_version(text: &str, version: &str) -> Option<String> {
    replace_line(text, |line| {
        line.starts_with("version:")
            .then(|| format!("version: {version}"))
    })
}

/// Replaces the version in the first top-level `base: NAME@VERSION` line, when it names one
/// of `released`: a bulk release moves a runtime's base along with it.
fn set_base(text: &str, released: &[String], version: &str) -> String {
    replace_line(text, |line| {
        let rest = line.strip_prefix("base:")?;
        let (name, _) = rest
            .split('#')
            .next()
            .unwrap_or("")
            .trim()
            .split_once('@')?;
        released
            .iter()
            .any(|r| r == name)
            .then(|| format!("base: {name}@{version}"))
    })
    .unwrap_or_else(|| text.to_string())
}

/// Applies `tag` to the runtime directories `dirs` (each holding a manifest.yaml). A bulk tag
/// also moves each `base:` that names a runtime of this release to the new version.
pub fn release(dirs: &[PathBuf], tag: &Tag) -> Result<Vec<Released>, ReleaseError> {
    let names: Vec<String> = match tag {
        Tag::All(_) => dirs
            .iter()
            .map(|d| Manifest::read_dir(d).map(|m| m.name))
            .collect::<Result<_, _>>()?,
        Tag::One { .. } => Vec::new(),
    };
    let mut planned = Vec::new();
    for dir in dirs {
        let manifest = Manifest::read_dir(dir)?;
        let wanted = match tag {
            Tag::All(v) => v.clone(),
            Tag::One { name, version } if *name == manifest.name => version.clone(),
            Tag::One { .. } => continue,
        };
        let path = dir.join("manifest.yaml");
        if let Tag::One { .. } = tag
            && manifest.version != wanted
        {
            return Err(ReleaseError::Mismatch {
                path,
                found: manifest.version,
                wanted,
                tag: tag_text(tag),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ReleaseError::Write {
            path: path.clone(),
            source,
        })?;
        let new = set_version(&text, &wanted)
            .ok_or(ReleaseError::NoVersionLine { path: path.clone() })?;
        let new = set_base(&new, &names, &wanted);
        // The new text must still be a valid manifest saying the new version.
        let reread = Manifest::parse(new.as_bytes(), &path)?;
        if reread.version != wanted {
            return Err(ReleaseError::NoVersionLine { path });
        }
        planned.push((path, manifest, wanted, text != new, new));
    }
    if let Tag::One { name, .. } = tag
        && planned.is_empty()
    {
        return Err(ReleaseError::UnknownRuntime {
            name: name.clone(),
            dir: dirs
                .first()
                .and_then(|d| d.parent())
                .map(Path::to_path_buf)
                .unwrap_or_default(),
        });
    }
    let mut out = Vec::new();
    for (path, manifest, wanted, changed, new) in planned {
        if changed {
            jrt_fs::write_atomic(&path, new.as_bytes()).map_err(|source| ReleaseError::Write {
                path: path.clone(),
                source,
            })?;
        }
        out.push(Released {
            name: manifest.name,
            path,
            from: manifest.version,
            to: wanted,
            changed,
        });
    }
    Ok(out)
}

fn tag_text(tag: &Tag) -> String {
    match tag {
        Tag::All(v) => format!("v{v}"),
        Tag::One { name, version } => format!("{name}@{version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_parse_and_bad_ones_are_named() {
        assert_eq!(Tag::parse("v1.4.0").unwrap(), Tag::All("1.4.0".into()));
        assert_eq!(
            Tag::parse("python-3.11@1.3.5").unwrap(),
            Tag::One {
                name: "python-3.11".into(),
                version: "1.3.5".into()
            }
        );
        for bad in ["1.4.0", "v1.4", "vx", "Py@1.0.0", "python@1.0", ""] {
            assert!(Tag::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_the_version_line_changes() {
        let text = "# c\nname: a\nversion: 1.0.0   # old\nnested:\n  version: 9\n";
        assert_eq!(
            set_version(text, "2.0.0").unwrap(),
            "# c\nname: a\nversion: 2.0.0\nnested:\n  version: 9\n"
        );
        assert!(set_version("name: a\n", "2.0.0").is_none());
    }

    #[test]
    fn a_bulk_release_moves_bases_it_releases_and_no_other() {
        let released = ["python-3.11".to_string()];
        assert_eq!(
            set_base(
                "name: ml\nbase: python-3.11@1.3.4  # c\n",
                &released,
                "1.4.0"
            ),
            "name: ml\nbase: python-3.11@1.4.0\n"
        );
        let other = "name: x\nbase: elsewhere@2.0.0\n";
        assert_eq!(set_base(other, &released, "1.4.0"), other);
    }
}
