//! The jdk runtime-family plugin.
//!
//! Serves openjdk-21 and graalvmjdk-21. Detects the platform, checks manifests ([`checks`]),
//! plans the setup ([`plan`]: a host JDK of the same major, or the pinned JDK tarball) and
//! captures versions from `java -version` and the JDK's `release` file ([`capture`]).

pub mod capture;
pub mod checks;
pub mod plan;

jrt_plugin_kit::family!(
    Jdk,
    "jdk",
    checks::diagnostics,
    plan::plan,
    capture::capture
);
