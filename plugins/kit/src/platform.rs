//! Mapping a host onto a package platform (`ubuntu|rhel|amzn` × `amd64|arm64`).
//!
//! Packages are built per distribution family, not per distribution: Debian runs what is built
//! for Ubuntu, CentOS, Rocky and AlmaLinux run what is built for RHEL. The mapping is a closed
//! list on purpose: a distribution we have not checked gets a clear refusal, not a guess.

use crate::os_release::OsRelease;
use crate::types::{Arch, HostFacts, OsFamily, Platform, PluginError};

/// Every platform id a package can be built for, in a stable order.
pub const PLATFORM_IDS: [&str; 6] = [
    "ubuntu-amd64",
    "ubuntu-arm64",
    "rhel-amd64",
    "rhel-arm64",
    "amzn-amd64",
    "amzn-arm64",
];

/// Distribution ids (os-release `ID`) and the family whose packages they run.
const DISTROS: [(&str, OsFamily); 7] = [
    ("ubuntu", OsFamily::Ubuntu),
    ("debian", OsFamily::Ubuntu),
    ("rhel", OsFamily::Rhel),
    ("centos", OsFamily::Rhel),
    ("rocky", OsFamily::Rhel),
    ("almalinux", OsFamily::Rhel),
    ("amzn", OsFamily::Amzn),
];

const SUPPORTED_TEXT: &str = "Ubuntu and Debian (ubuntu-*), RHEL, CentOS, Rocky and AlmaLinux \
     (rhel-*), Amazon Linux (amzn-*), each on x86_64 (amd64) or aarch64 (arm64)";

/// The family name used in platform ids.
pub fn os_name(os: OsFamily) -> &'static str {
    match os {
        OsFamily::Ubuntu => "ubuntu",
        OsFamily::Rhel => "rhel",
        OsFamily::Amzn => "amzn",
    }
}

/// The architecture name used in platform ids.
pub fn arch_name(arch: Arch) -> &'static str {
    match arch {
        Arch::Amd64 => "amd64",
        Arch::Arm64 => "arm64",
    }
}

/// Parses a platform id such as `rhel-arm64`.
pub fn parse_id(id: &str) -> Option<(OsFamily, Arch)> {
    let (os, arch) = id.split_once('-')?;
    let os = match os {
        "ubuntu" => OsFamily::Ubuntu,
        "rhel" => OsFamily::Rhel,
        "amzn" => OsFamily::Amzn,
        _ => return None,
    };
    let arch = match arch {
        "amd64" => Arch::Amd64,
        "arm64" => Arch::Arm64,
        _ => return None,
    };
    Some((os, arch))
}

/// Maps `uname -m` to a package architecture.
pub fn map_machine(machine: &str) -> Option<Arch> {
    match machine.trim() {
        "x86_64" | "amd64" => Some(Arch::Amd64),
        "aarch64" | "arm64" | "aarch64_be" => Some(Arch::Arm64),
        _ => None,
    }
}

/// Maps an os-release `ID` to a distribution family.
pub fn map_distro(id: &str) -> Option<OsFamily> {
    DISTROS.iter().find(|(d, _)| *d == id).map(|(_, os)| *os)
}

/// Detects the platform from the host facts, or checks and applies `platform-override`.
///
/// The exact distribution (id, version, name) is always taken from os-release when there is
/// one, so `--platform` changes what is built or installed, not what the host is.
pub fn detect(facts: &HostFacts) -> Result<Platform, PluginError> {
    let os_release = facts.os_release.as_deref().map(OsRelease::parse);
    let (distro_id, distro_version, distro_name) = match &os_release {
        Some(os) => (os.id(), os.version_id(), os.pretty_name()),
        None => (String::new(), String::new(), String::new()),
    };

    let (os, arch) = if let Some(requested) = facts.platform_override.as_deref() {
        parse_id(requested).ok_or_else(|| {
            PluginError::InvalidInput(format!(
                "unknown platform '{requested}'; known platforms: {}",
                PLATFORM_IDS.join(", ")
            ))
        })?
    } else {
        let Some(os_release) = &os_release else {
            return Err(PluginError::UnsupportedPlatform(format!(
                "cannot tell the distribution: neither /etc/os-release nor /usr/lib/os-release \
                 exists (machine {}); jrt supports {SUPPORTED_TEXT}; pass --platform to choose one",
                facts.machine
            )));
        };
        let os = map_distro(&distro_id);
        let arch = map_machine(&facts.machine);
        match (os, arch) {
            (Some(os), Some(arch)) => (os, arch),
            _ => {
                let version = os_release.version_id();
                return Err(PluginError::UnsupportedPlatform(format!(
                    "unsupported platform: {} (ID={distro_id}{}) on {}; jrt supports \
                     {SUPPORTED_TEXT}",
                    os_release.pretty_name(),
                    if version.is_empty() {
                        String::new()
                    } else {
                        format!(", VERSION_ID={version}")
                    },
                    if facts.machine.is_empty() {
                        "an unknown machine"
                    } else {
                        facts.machine.as_str()
                    },
                )));
            }
        }
    };

    Ok(Platform {
        id: format!("{}-{}", os_name(os), arch_name(arch)),
        os,
        arch,
        distro_id,
        distro_version,
        distro_name,
        kernel: facts.kernel.clone(),
        libc: facts.libc.clone(),
        accelerator: None,
    })
}
