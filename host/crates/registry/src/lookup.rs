//! Resolving a spec across the loaded registries of every kind, highest priority first: an
//! index (registry.json, a directory of sources) answers from memory, an OCI namespace by
//! asking the registry for the runtime's tags.

use crate::oci::OciSourceError;
use crate::source::{Registry, Source};
use crate::spec::{self, ResolveError, Resolved, Spec};

/// Why a spec could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("registry {registry}: {source}")]
    Oci {
        registry: String,
        source: Box<OciSourceError>,
    },
    #[error("registry {0} is an OCI namespace, and no OCI client was set up")]
    NoClient(String),
}

/// Resolves `spec` for `platform`: the first registry that has the runtime decides.
pub fn find(
    spec: &Spec,
    registries: &[Registry],
    platform: &str,
    oci: Option<&jrt_oci::Client>,
) -> Result<Resolved, LookupError> {
    for (i, registry) in registries.iter().enumerate() {
        let found = match &registry.source {
            Source::Oci(namespace) => {
                let client = oci.ok_or_else(|| LookupError::NoClient(registry.source.display()))?;
                crate::oci::resolve(client, namespace, spec, platform).map_err(|e| match e {
                    OciSourceError::Resolve(r) => LookupError::Resolve(r),
                    other => LookupError::Oci {
                        registry: registry.source.display(),
                        source: Box::new(other),
                    },
                })?
            }
            _ if registry.index.runtimes.contains_key(&spec.name) => {
                Some(spec::resolve(spec, &[&registry.index], platform)?)
            }
            _ => None,
        };
        if let Some(mut resolved) = found {
            resolved.registry = i;
            return Ok(resolved);
        }
    }
    let mut available: Vec<String> = registries
        .iter()
        .flat_map(|r| r.index.runtimes.keys().cloned())
        .collect();
    available.sort();
    available.dedup();
    Err(ResolveError::NotFound {
        name: spec.name.clone(),
        available,
    }
    .into())
}
