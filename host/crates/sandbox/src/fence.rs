//! The Landlock layer: a second, independent fence under the namespaces. Writes are allowed
//! only below the staging tree (for steps), the private `/tmp` and `/dev/shm`, and three
//! harmless devices;
//! TCP `connect` only to the ports a step declared (none without network) and no `bind`;
//! no abstract unix sockets or signals outside the sandbox.
//!
//! Built in the parent with the `landlock` crate, best effort: a kernel without some feature
//! (or without Landlock) enforces what it has, and [`super::layers`] says which.

use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, NetPort, PathBeneath, PathFd, Ruleset, RulesetAttr,
    RulesetCreated, RulesetCreatedAttr, Scope,
};

use super::{Network, SandboxError, Spec};

/// The newest ABI jrt asks for; older kernels get what they support.
const ABI_WANTED: ABI = ABI::V9;

/// Write access, without `IoctlDev` (terminal queries on `/dev/null` must still answer).
fn writes() -> BitFlags<AccessFs> {
    AccessFs::from_write(ABI_WANTED) & !AccessFs::IoctlDev
}

/// The ruleset for `spec`, ready for the child to enforce.
pub fn ruleset(spec: &Spec, scratch: &[&Path]) -> Result<Option<RulesetCreated>, SandboxError> {
    let err = |e: landlock::RulesetError| SandboxError::Landlock(e.to_string());
    let path = |p: &Path| {
        PathFd::new(p).map_err(|e| SandboxError::Landlock(format!("{}: {e}", p.display())))
    };
    let mut ruleset = Ruleset::default().handle_access(writes()).map_err(err)?;
    // A job on the host's network may connect anywhere: leave TCP unhandled.
    if spec.network != Network::Host {
        ruleset = ruleset
            .handle_access(AccessNet::from_all(ABI_WANTED))
            .map_err(err)?;
    }
    let created = ruleset
        .scope(Scope::from_all(ABI_WANTED))
        .map_err(err)?
        .create()
        .map_err(err)?;
    let mut created = created;
    for dir in scratch {
        created = created
            .add_rule(PathBeneath::new(path(dir)?, writes()))
            .map_err(err)?;
    }
    for m in spec
        .job
        .iter()
        .flat_map(|j| &j.mounts)
        .filter(|m| !m.readonly)
    {
        created = created
            .add_rule(PathBeneath::new(path(&m.source)?, writes()))
            .map_err(err)?;
    }
    if spec.writable && spec.job.is_none() {
        created = created
            .add_rule(PathBeneath::new(path(&spec.tree)?, writes()))
            .map_err(err)?;
    }
    for device in ["/dev/null", "/dev/zero", "/dev/full"] {
        let device = Path::new(device);
        if device.exists() {
            created = created
                .add_rule(PathBeneath::new(
                    path(device)?,
                    AccessFs::WriteFile | AccessFs::Truncate,
                ))
                .map_err(err)?;
        }
    }
    if let Network::Ports(ports) = &spec.network {
        for &port in ports {
            created = created
                .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
                .map_err(err)?;
        }
    }
    Ok(Some(created))
}
