//! Platform detection on real os-release files (testdata/os-release).

use jrt_plugin_kit::platform::{self, PLATFORM_IDS};
use jrt_plugin_kit::types::{Arch, HostFacts, OsFamily, PluginError};

fn os_release(name: &str) -> String {
    let path = format!(
        "{}/../../testdata/os-release/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn facts(os: Option<String>, machine: &str) -> HostFacts {
    HostFacts {
        os_release: os,
        machine: machine.into(),
        kernel: "6.1.0-18-amd64".into(),
        libc: None,
        nvidia: None,
        tools: vec![],
        platform_override: None,
    }
}

#[test]
fn every_supported_distribution_maps_to_its_family() {
    let cases = [
        (
            "ubuntu-22.04",
            "ubuntu",
            "22.04",
            OsFamily::Ubuntu,
            "Ubuntu 22.04.4 LTS",
        ),
        (
            "ubuntu-24.04",
            "ubuntu",
            "24.04",
            OsFamily::Ubuntu,
            "Ubuntu 24.04.1 LTS",
        ),
        (
            "debian-12",
            "debian",
            "12",
            OsFamily::Ubuntu,
            "Debian GNU/Linux 12 (bookworm)",
        ),
        (
            "rhel-9",
            "rhel",
            "9.4",
            OsFamily::Rhel,
            "Red Hat Enterprise Linux 9.4 (Plow)",
        ),
        (
            "rocky-9",
            "rocky",
            "9.3",
            OsFamily::Rhel,
            "Rocky Linux 9.3 (Blue Onyx)",
        ),
        (
            "almalinux-9",
            "almalinux",
            "9.4",
            OsFamily::Rhel,
            "AlmaLinux 9.4 (Seafoam Ocelot)",
        ),
        (
            "centos-7",
            "centos",
            "7",
            OsFamily::Rhel,
            "CentOS Linux 7 (Core)",
        ),
        ("amzn-2", "amzn", "2", OsFamily::Amzn, "Amazon Linux 2"),
        (
            "amzn-2023",
            "amzn",
            "2023",
            OsFamily::Amzn,
            "Amazon Linux 2023.5.20240722",
        ),
    ];
    for (file, id, version, os, name) in cases {
        for (machine, arch, arch_id) in [
            ("x86_64", Arch::Amd64, "amd64"),
            ("aarch64", Arch::Arm64, "arm64"),
        ] {
            let p = platform::detect(&facts(Some(os_release(file)), machine))
                .unwrap_or_else(|e| panic!("{file} on {machine}: {e:?}"));
            assert_eq!(p.os, os, "{file}");
            assert_eq!(p.arch, arch, "{file}");
            assert_eq!(
                p.id,
                format!("{}-{arch_id}", platform::os_name(os)),
                "{file}"
            );
            assert!(PLATFORM_IDS.contains(&p.id.as_str()));
            assert_eq!(p.distro_id, id, "{file}");
            assert_eq!(p.distro_version, version, "{file}");
            assert_eq!(p.distro_name, name, "{file}");
            assert_eq!(p.kernel, "6.1.0-18-amd64");
        }
    }
}

#[test]
fn unsupported_distribution_is_named_with_what_is_supported() {
    for (file, shown) in [
        ("fedora-40", "Fedora Linux 40"),
        ("alpine-3.19", "Alpine Linux v3.19"),
    ] {
        let err = platform::detect(&facts(Some(os_release(file)), "x86_64")).unwrap_err();
        let PluginError::UnsupportedPlatform(msg) = err else {
            panic!("{file}: wrong error kind: {err:?}");
        };
        assert!(msg.contains(shown), "{msg}");
        assert!(msg.contains("x86_64"), "{msg}");
        for supported in [
            "Ubuntu",
            "Debian",
            "RHEL",
            "CentOS",
            "Rocky",
            "AlmaLinux",
            "Amazon Linux",
        ] {
            assert!(msg.contains(supported), "{msg} lacks {supported}");
        }
    }
}

#[test]
fn unsupported_architecture_is_named() {
    for machine in ["riscv64", "ppc64le", "s390x", "i686", ""] {
        let err = platform::detect(&facts(Some(os_release("ubuntu-22.04")), machine)).unwrap_err();
        let PluginError::UnsupportedPlatform(msg) = err else {
            panic!("{machine}: wrong error kind: {err:?}");
        };
        assert!(msg.contains("Ubuntu 22.04.4 LTS"), "{msg}");
        if !machine.is_empty() {
            assert!(msg.contains(machine), "{msg}");
        }
    }
}

#[test]
fn missing_os_release_is_an_error_unless_a_platform_is_given() {
    let err = platform::detect(&facts(None, "x86_64")).unwrap_err();
    assert!(
        matches!(&err, PluginError::UnsupportedPlatform(m) if m.contains("os-release")),
        "{err:?}"
    );

    let mut f = facts(None, "x86_64");
    f.platform_override = Some("amzn-arm64".into());
    let p = platform::detect(&f).unwrap();
    assert_eq!(p.id, "amzn-arm64");
    assert_eq!((p.os, p.arch), (OsFamily::Amzn, Arch::Arm64));
}

#[test]
fn platform_override_is_checked_and_keeps_the_real_distro() {
    let mut f = facts(Some(os_release("debian-12")), "x86_64");
    f.platform_override = Some("rhel-arm64".into());
    let p = platform::detect(&f).unwrap();
    assert_eq!(p.id, "rhel-arm64");
    assert_eq!(p.distro_id, "debian");

    for bad in [
        "windows-amd64",
        "ubuntu",
        "ubuntu-x86_64",
        "",
        "UBUNTU-AMD64",
        "rhel-arm64-extra",
    ] {
        f.platform_override = Some(bad.into());
        let err = platform::detect(&f).unwrap_err();
        let PluginError::InvalidInput(msg) = err else {
            panic!("{bad}: wrong error kind: {err:?}");
        };
        assert!(
            msg.contains(&format!("'{bad}'")) && msg.contains("ubuntu-amd64"),
            "{msg}"
        );
    }

    // An override also works on hosts that are not supported themselves (cross builds).
    let mut f = facts(Some(os_release("fedora-40")), "riscv64");
    f.platform_override = Some("ubuntu-amd64".into());
    assert_eq!(platform::detect(&f).unwrap().id, "ubuntu-amd64");
}

#[test]
fn every_platform_id_round_trips() {
    for id in PLATFORM_IDS {
        let (os, arch) = platform::parse_id(id).unwrap();
        assert_eq!(
            format!("{}-{}", platform::os_name(os), platform::arch_name(arch)),
            id
        );
    }
}
