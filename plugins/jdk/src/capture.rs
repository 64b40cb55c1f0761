//! What a JDK runtime really contains, from `java -version` and the JDK's `release` file: the
//! version, build, vendor and VM. The major version must match the manifest's `java_version`
//! (a 17 is never installed as a 21).

use jrt_plugin_kit::probes::{field_text, probe, text};
use jrt_plugin_kit::types::{Manifest, PluginError, ProbeOutput, VersionLock};

/// `<runtime java> -version` (it prints to stderr).
pub const PROBE_VERSION: &str = "java-version";
/// The JDK's `release` file, printed.
pub const PROBE_RELEASE: &str = "release";
/// `<runtime native-image> --version`, for GraalVM runtimes.
pub const PROBE_NATIVE_IMAGE: &str = "native-image";

/// What `java -version` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaVersion {
    pub version: String,
    pub build: Option<String>,
    /// The runtime's label: `Temurin-21.0.1+12`, `GraalVM CE 21.0.1+12.1`, empty for plain OpenJDK.
    pub label: String,
    /// The VM line without its build: `OpenJDK 64-Bit Server VM Temurin-21.0.1+12`.
    pub vm: String,
}

/// Parses the three lines of `java -version`.
pub fn parse_version(output: &str) -> Option<JavaVersion> {
    let mut lines = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Picked up"));
    let first = lines.next()?;
    let version = first.split('"').nth(1)?.to_string();
    let runtime = lines.next().unwrap_or("");
    let build = runtime.split("(build ").nth(1).map(|b| {
        b.trim_end_matches(')')
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    });
    let label = runtime
        .split(" (build")
        .next()
        .and_then(|r| r.split_once("Runtime Environment"))
        .map(|(_, l)| l.trim().to_string())
        .unwrap_or_default();
    let vm = lines
        .next()
        .unwrap_or("")
        .split(" (build")
        .next()
        .unwrap_or("")
        .to_string();
    Some(JavaVersion {
        version,
        build,
        label,
        vm,
    })
}

/// `KEY="value"` pairs of a `release` file.
pub fn release_field<'a>(release: &'a str, key: &str) -> Option<&'a str> {
    release.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"'))
    })
}

/// The Java major version: `21.0.1` → 21, `1.8.0_392` → 8.
pub fn major(version: &str) -> Option<u32> {
    // "1.8.0_392" is Java 8; "21.0.1" is 21.
    let mut parts = version.split(['.', '_', '+', '-']);
    let first: u32 = parts.next()?.parse().ok()?;
    if first == 1 {
        parts.next()?.parse().ok()
    } else {
        Some(first)
    }
}

/// Builds the version lock, checking the major version against the manifest.
pub fn capture(manifest: &Manifest, probes: &[ProbeOutput]) -> Result<VersionLock, PluginError> {
    let out = text(probe(probes, PROBE_VERSION)?);
    let java = parse_version(out).ok_or_else(|| {
        PluginError::InvalidInput(format!(
            "cannot read `java -version` output: '{}'",
            out.trim()
        ))
    })?;
    if let Some(want) = field_text(manifest, "java_version")
        && major(want) != major(&java.version)
    {
        return Err(PluginError::Unsatisfiable(format!(
            "the JDK is {} ({}), but {} needs Java {} (java_version {want})",
            java.version,
            if java.label.is_empty() {
                "OpenJDK"
            } else {
                java.label.as_str()
            },
            manifest.name,
            major(want).map_or("?".to_string(), |m| m.to_string()),
        )));
    }
    let release = probes
        .iter()
        .find(|p| p.name == PROBE_RELEASE && p.exit_code == Some(0))
        .map(|p| p.stdout.as_str());
    let vendor = release
        .and_then(|r| release_field(r, "IMPLEMENTOR"))
        .map(str::to_string)
        .unwrap_or_else(|| java.label.clone());
    let mut components = vec![("java".to_string(), java.version.clone())];
    if let Some(build) = &java.build {
        components.push(("java-build".into(), build.clone()));
    }
    if !vendor.is_empty() {
        components.push(("vendor".into(), vendor));
    }
    components.push(("vm".into(), java.vm.clone()));
    if let Some(graal) = release.and_then(|r| release_field(r, "GRAALVM_VERSION")) {
        components.push(("graalvm".into(), graal.to_string()));
    }
    if field_text(manifest, "graalvm_version").is_some() {
        // A GraalVM runtime without a working native-image is not what its manifest says.
        let native = probe(probes, PROBE_NATIVE_IMAGE).map_err(|e| match e {
            PluginError::InvalidInput(m) => {
                PluginError::Unsatisfiable(format!("{} must have native-image: {m}", manifest.name))
            }
            other => other,
        })?;
        let line = text(native).lines().next().unwrap_or("").trim().to_string();
        components.push(("native-image".into(), line));
    }
    Ok(VersionLock {
        components,
        packages: vec![],
        notes: vec![],
    })
}
