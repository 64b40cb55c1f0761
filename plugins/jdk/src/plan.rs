//! The jdk family's setup plan.
//!
//! The JDK comes from a host JDK of the same major version as `java_version` (when the
//! manifest says `allow_host_jdk: true`; for a GraalVM runtime the host JDK must be GraalVM),
//! else from the pinned tarball for the platform's architecture (`jdk_builds`). A host 17 is
//! never a 21. The runtime is the JDK home (`isolated/opt/jdk`, mounted at `/opt/jdk`) with
//! the shared-library closure of its ELF files.

use jrt_plugin_kit::catalog;
use jrt_plugin_kit::layout::{JDK_HOME, JDK_HOME_IN_JOB, allowed, pinned_build, probe};
use jrt_plugin_kit::log;
use jrt_plugin_kit::platform::arch_name;
use jrt_plugin_kit::probes::field_text;
use jrt_plugin_kit::types::{
    CopyFromHost, CopyLibraries, Fetch, Manifest, Mount, Plan, PluginError, SetupRequest,
    SetupStep, WriteFile,
};

use crate::capture::{PROBE_NATIVE_IMAGE, PROBE_RELEASE, PROBE_VERSION, major};

/// Where the closure of the JDK's ELF files goes, inside its home.
const CLOSURE: &str = "lib/jrt-closure";
/// Prints the JDK's `release` file. Probes run only programs inside the tree (the host's
/// own `cat` is not a plan's to start), so the plan writes this one-line script.
const PRINT_RELEASE: &str = ".jrt/setup/print-release";

/// A host JDK, from `java -XshowSettings:properties -version` (`host-facts.tools`, `host-java`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostJdk {
    pub home: String,
    pub version: String,
    /// `java.vendor.version` (such as `Temurin-21.0.1+12`, `GraalVM CE 21.0.1+12.1`), else
    /// `java.vendor`.
    pub vendor: String,
}

/// Reads the properties listing; none when it names no home or version.
pub fn parse_settings(text: &str) -> Option<HostJdk> {
    let prop = |key: &str| {
        text.lines().find_map(|l| {
            let (k, v) = l.trim().split_once(" = ")?;
            (k == key).then(|| v.trim().to_string())
        })
    };
    Some(HostJdk {
        home: prop("java.home").filter(|h| h.starts_with('/'))?,
        version: prop("java.version")?,
        vendor: prop("java.vendor.version")
            .or_else(|| prop("java.vendor"))
            .unwrap_or_default(),
    })
}

pub fn host_jdks(request: &SetupRequest) -> Vec<HostJdk> {
    request
        .facts
        .tools
        .iter()
        .filter(|t| t.name == "host-java" && t.exit_code == Some(0))
        .filter_map(|t| parse_settings(&t.stderr).or_else(|| parse_settings(&t.stdout)))
        .collect()
}

fn is_graalvm(manifest: &Manifest) -> bool {
    field_text(manifest, "graalvm_version").is_some()
}

/// The plan for `request`.
pub fn plan(request: &SetupRequest) -> Result<Plan, PluginError> {
    let manifest = &request.manifest;
    let want = field_text(manifest, "java_version").ok_or_else(|| {
        PluginError::InvalidInput(format!("{} has no java_version", manifest.name))
    })?;
    let want_major = major(want).ok_or_else(|| {
        PluginError::InvalidInput(format!("java_version '{want}' is not a Java version"))
    })?;
    let graal = is_graalvm(manifest);
    let arch = arch_name(request.platform.arch);

    let mut why_not_host = String::new();
    let mut chosen_host = None;
    if allowed(manifest, "allow_host_jdk") {
        let hosts = host_jdks(request);
        chosen_host = hosts
            .iter()
            .find(|h| {
                major(&h.version) == Some(want_major) && (!graal || h.vendor.contains("GraalVM"))
            })
            .cloned();
        why_not_host = if hosts.is_empty() {
            "this host has no JDK".into()
        } else {
            format!(
                "the host's JDKs are {}, none of them {}{want_major}",
                hosts
                    .iter()
                    .map(|h| format!("{} {} ({})", h.vendor, h.version, h.home))
                    .collect::<Vec<_>>()
                    .join(", "),
                if graal { "GraalVM " } else { "Java " },
            )
        };
    }

    let mut steps = vec![SetupStep::Mkdir("isolated/opt".into())];
    if let Some(host) = chosen_host {
        steps.push(SetupStep::CopyFromHost(CopyFromHost {
            source: host.home,
            target: JDK_HOME.into(),
            exclude: vec![],
        }));
    } else {
        // The manifest's own pin, else jrt's catalog: Temurin, or GraalVM CE for a GraalVM
        // runtime, of exactly java_version.
        let listed = if graal {
            catalog::GRAALVM_CE
        } else {
            catalog::TEMURIN
        };
        let catalogued =
            || catalog::find(listed, want, arch).map(|b| (b.url.to_string(), b.sha256.to_string()));
        let Some((url, sha256)) = pinned_build(manifest, "jdk_builds", arch)?.or_else(catalogued)
        else {
            return Err(PluginError::Unsatisfiable(format!(
                "{} needs {}{want_major} ({want}), but {}, jdk_builds has no pinned build for \
                 {arch}, and jrt's catalog has no {} {want} (it has {})",
                manifest.name,
                if graal { "GraalVM for Java " } else { "Java " },
                if why_not_host.is_empty() {
                    "the manifest does not allow a host JDK (allow_host_jdk: true)".to_string()
                } else {
                    why_not_host
                },
                if graal { "GraalVM CE" } else { "Temurin JDK" },
                catalog::versions(listed, arch),
            )));
        };
        if !why_not_host.is_empty() {
            log::warn(&format!(
                "{}: {why_not_host}; using the pinned build {url}",
                manifest.name
            ));
        }
        steps.push(SetupStep::Fetch(Fetch {
            url,
            sha256,
            target: JDK_HOME.into(),
            unpack: true,
            strip_components: 1,
        }));
    }
    steps.push(SetupStep::CopyLibraries(CopyLibraries {
        binaries: vec![format!("{JDK_HOME}/bin"), format!("{JDK_HOME}/lib")],
        target: format!("{JDK_HOME}/{CLOSURE}"),
    }));

    steps.push(SetupStep::WriteFile(WriteFile {
        target: PRINT_RELEASE.into(),
        contents: format!("#!/bin/sh\nexec cat {JDK_HOME}/release\n").into_bytes(),
        executable: true,
    }));

    let java = format!("{JDK_HOME}/bin/java");
    let mut probes = vec![
        probe(PROBE_VERSION, &java, &["-version"]),
        probe(PROBE_RELEASE, PRINT_RELEASE, &[]),
    ];
    if graal {
        probes.push(probe(
            PROBE_NATIVE_IMAGE,
            &format!("{JDK_HOME}/bin/native-image"),
            &["--version"],
        ));
    }
    Ok(Plan {
        steps,
        mounts: vec![Mount {
            source: JDK_HOME.into(),
            target: JDK_HOME_IN_JOB.into(),
            readonly: true,
        }],
        environment: vec![
            ("JAVA_HOME".into(), JDK_HOME_IN_JOB.into()),
            (
                "PATH".into(),
                format!("{JDK_HOME_IN_JOB}/bin:/usr/local/bin:/usr/bin:/bin"),
            ),
            (
                "LD_LIBRARY_PATH".into(),
                format!("{JDK_HOME_IN_JOB}/{CLOSURE}"),
            ),
        ],
        probes,
    })
}
