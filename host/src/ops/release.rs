//! `jrt release vX.Y.Z | NAME@X.Y.Z`: validate the manifests, then set (or check) their
//! versions, as upstream's release tags do.

use std::path::Path;

use jrt_publish::release::{Released, Tag};

use super::{Error, Session};

/// Releases the runtimes under `runtimes` at `tag`; nothing changes when a manifest has errors.
pub fn run(session: &Session, tag: &str, runtimes: &Path) -> Result<Vec<Released>, Error> {
    let tag = Tag::parse(tag).map_err(|e| Error::Usage(e.to_string()))?;
    let dirs: Vec<_> = jrt_registry::source::runtime_dirs(runtimes).collect();
    let problems = super::validate::validate(&session.plugins()?, &dirs)?;
    if problems.iter().any(|p| p.severity == "error") {
        return Err(Error::Invalid {
            problems,
            dirs: dirs.len(),
            action: "changed",
        });
    }
    Ok(jrt_publish::release::release(&dirs, &tag)?)
}
