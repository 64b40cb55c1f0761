//! The python runtime-family plugin.
//!
//! Detects the platform, checks manifests ([`checks`]), plans the setup ([`plan`]: a matching
//! host CPython or the pinned relocatable build, then the pinned packages installed by the
//! runtime's own interpreter) and captures what was really installed ([`capture`]).

pub mod capture;
pub mod checks;
pub mod plan;

jrt_plugin_kit::family!(
    Python,
    "python",
    checks::diagnostics,
    plan::plan,
    capture::capture
);
