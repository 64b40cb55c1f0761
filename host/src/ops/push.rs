//! `jrt push PKG... oci://HOST/NAMESPACE`: the session's HTTP policy and Docker's
//! credentials, then [`jrt_publish::push`].

use std::path::PathBuf;

use jrt_publish::push::Pushed;

use super::{Error, Session};

/// Pushes `packages` to `dest`.
pub fn run(
    session: &Session,
    packages: &[PathBuf],
    dest: &str,
    force: bool,
) -> Result<Vec<Pushed>, Error> {
    let namespace = jrt_oci::Location::parse(dest).map_err(|e| Error::Usage(e.to_string()))?;
    if namespace.reference.is_some() {
        return Err(Error::Usage(format!(
            "{dest}: push to a namespace (oci://HOST/NAMESPACE); the tag is each package's version"
        )));
    }
    if session.offline {
        return Err(Error::Usage("--offline forbids pushing".into()));
    }
    let installer = session.installer()?;
    let client = installer.oci()?;
    Ok(jrt_publish::push::push(
        client, &namespace, packages, force,
    )?)
}
