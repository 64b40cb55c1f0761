//! The catalog of relocatable interpreter and JDK builds the family plugins fall back to when
//! a manifest names only a version (`python_version: 3.11.7`, `java_version: 21.0.1`), as
//! upstream's manifests do: for each version and architecture, the vendor's download URL and
//! its published sha256. A manifest's own `python_builds`/`jdk_builds` win over it.
//!
//! The checksums were read from sources that copy the vendors' published ones, never
//! computed here: python-build-standalone's `install_only` builds from rules_python's
//! `python/versions.bzl` (bazel-contrib/rules_python 7223eb39, 2025-12-14; 3.11.7 also in
//! bazelbuild/rules_python 6854dc38 and pbs-installer 0e21abd9); Eclipse Temurin from the
//! `ESUM` lines of adoptium/containers' Dockerfiles (21.0.1+12 at 4b9b7827), agreeing with
//! halcyon/asdf-java's data at 66525654; GraalVM CE from halcyon/asdf-java's data at 66525654.
//! They cover the versions upstream's manifests and ours name, and the newest patch of
//! CPython 3.11, 3.12, 3.13 and of JDK 21 and 25 published by the end of 2025 (GraalVM CE
//! for JDK 21 stopped at 21.0.2). A plan still fetches through the host, which checks the
//! sha256, and mirrors (`JRT_MIRROR`) apply to these URLs like to any other.

/// One build: what it is, for which architecture, where it is, and its sha256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Build {
    /// The version a manifest names (`3.11.7`, `21.0.1`).
    pub version: &'static str,
    /// The vendor's full build name (`3.11.7+20240107`, `21.0.1+12`).
    pub build: &'static str,
    /// `amd64` or `arm64`.
    pub arch: &'static str,
    pub url: &'static str,
    pub sha256: &'static str,
}

/// CPython, python-build-standalone's `install_only` builds for Linux (glibc).
pub const CPYTHON: &[Build] = &[
    Build {
        version: "3.11.7",
        build: "3.11.7",
        arch: "amd64",
        url: "https://github.com/indygreg/python-build-standalone/releases/download/20240107/cpython-3.11.7+20240107-x86_64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "4a51ce60007a6facf64e5495f4cf322e311ba9f39a8cd3f3e4c026eae488e140",
    },
    Build {
        version: "3.11.7",
        build: "3.11.7",
        arch: "arm64",
        url: "https://github.com/indygreg/python-build-standalone/releases/download/20240107/cpython-3.11.7+20240107-aarch64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "b102eaf865eb715aa98a8a2ef19037b6cc3ae7dfd4a632802650f29de635aa13",
    },
    Build {
        version: "3.11.14",
        build: "3.11.14",
        arch: "amd64",
        url: "https://github.com/astral-sh/python-build-standalone/releases/download/20251031/cpython-3.11.14+20251031-x86_64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "60f0bd473d861cc45d3401d9914e47ccb9fa037f88a91879ed517a62042b8477",
    },
    Build {
        version: "3.11.14",
        build: "3.11.14",
        arch: "arm64",
        url: "https://github.com/astral-sh/python-build-standalone/releases/download/20251031/cpython-3.11.14+20251031-aarch64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "510edb027527413c4249256194cb8ad2590b52dd93f7123b4cb341aff5d05894",
    },
    Build {
        version: "3.12.12",
        build: "3.12.12",
        arch: "amd64",
        url: "https://github.com/astral-sh/python-build-standalone/releases/download/20251031/cpython-3.12.12+20251031-x86_64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "80c3882f14e15cef8260ef5257d198e8f4371ca265887431d939e0d561de3253",
    },
    Build {
        version: "3.12.12",
        build: "3.12.12",
        arch: "arm64",
        url: "https://github.com/astral-sh/python-build-standalone/releases/download/20251031/cpython-3.12.12+20251031-aarch64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "81b644d166e0bfb918615af8a2363f8fcf26eccdcc60a5334b6a62c088470bac",
    },
    Build {
        version: "3.13.11",
        build: "3.13.11",
        arch: "amd64",
        url: "https://github.com/astral-sh/python-build-standalone/releases/download/20251209/cpython-3.13.11+20251209-x86_64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "1ffa06d714a44aea14c0c54c30656413e5955a6c92074b4b3cb4351dcc28b63b",
    },
    Build {
        version: "3.13.11",
        build: "3.13.11",
        arch: "arm64",
        url: "https://github.com/astral-sh/python-build-standalone/releases/download/20251209/cpython-3.13.11+20251209-aarch64-unknown-linux-gnu-install_only.tar.gz",
        sha256: "ea1e678e6e82301bb32bf3917732125949b6e46d541504465972024a3f165343",
    },
];

/// Eclipse Temurin JDKs for Linux.
pub const TEMURIN: &[Build] = &[
    Build {
        version: "21.0.1",
        build: "21.0.1+12",
        arch: "amd64",
        url: "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.1%2B12/OpenJDK21U-jdk_x64_linux_hotspot_21.0.1_12.tar.gz",
        sha256: "1a6fa8abda4c5caed915cfbeeb176e7fbd12eb6b222f26e290ee45808b529aa1",
    },
    Build {
        version: "21.0.1",
        build: "21.0.1+12",
        arch: "arm64",
        url: "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.1%2B12/OpenJDK21U-jdk_aarch64_linux_hotspot_21.0.1_12.tar.gz",
        sha256: "e184dc29a6712c1f78754ab36fb48866583665fa345324f1a79e569c064f95e9",
    },
    Build {
        version: "21.0.9",
        build: "21.0.9+10",
        arch: "amd64",
        url: "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.9%2B10/OpenJDK21U-jdk_x64_linux_hotspot_21.0.9_10.tar.gz",
        sha256: "810d3773df7e0d6c4394e4e244b264c8b30e0b05a0acf542d065fd78a6b65c2f",
    },
    Build {
        version: "21.0.9",
        build: "21.0.9+10",
        arch: "arm64",
        url: "https://github.com/adoptium/temurin21-binaries/releases/download/jdk-21.0.9%2B10/OpenJDK21U-jdk_aarch64_linux_hotspot_21.0.9_10.tar.gz",
        sha256: "edf0da4debe7cf475dbe320d174d6eed81479eb363f41e38a2efb740428c603a",
    },
    Build {
        version: "25.0.1",
        build: "25.0.1+8",
        arch: "amd64",
        url: "https://github.com/adoptium/temurin25-binaries/releases/download/jdk-25.0.1%2B8/OpenJDK25U-jdk_x64_linux_hotspot_25.0.1_8.tar.gz",
        sha256: "8daf77d1aacffe38c9889689bc224a13557de77559d9a5bb91991e6a298baa0d",
    },
    Build {
        version: "25.0.1",
        build: "25.0.1+8",
        arch: "arm64",
        url: "https://github.com/adoptium/temurin25-binaries/releases/download/jdk-25.0.1%2B8/OpenJDK25U-jdk_aarch64_linux_hotspot_25.0.1_8.tar.gz",
        sha256: "5c83b7d2121ed482fd06831a1eba1633dbab818aba6addddf48e075b97e6e9b8",
    },
];

/// GraalVM Community Edition JDKs for Linux.
pub const GRAALVM_CE: &[Build] = &[
    Build {
        version: "21.0.1",
        build: "21.0.1",
        arch: "amd64",
        url: "https://github.com/graalvm/graalvm-ce-builds/releases/download/jdk-21.0.1/graalvm-community-jdk-21.0.1_linux-x64_bin.tar.gz",
        sha256: "5283ee48a61633f59a49ecdf0ef0ab4c5a8b006c16ce95209df740bd2aee73bf",
    },
    Build {
        version: "21.0.1",
        build: "21.0.1",
        arch: "arm64",
        url: "https://github.com/graalvm/graalvm-ce-builds/releases/download/jdk-21.0.1/graalvm-community-jdk-21.0.1_linux-aarch64_bin.tar.gz",
        sha256: "de0340929da0f3360d82d8c8ca6ea8a11499fd62ca7a182579115362575b616d",
    },
    Build {
        version: "21.0.2",
        build: "21.0.2",
        arch: "amd64",
        url: "https://github.com/graalvm/graalvm-ce-builds/releases/download/jdk-21.0.2/graalvm-community-jdk-21.0.2_linux-x64_bin.tar.gz",
        sha256: "b048069aaa3a99b84f5b957b162cc181a32a4330cbc35402766363c5be76ae48",
    },
    Build {
        version: "21.0.2",
        build: "21.0.2",
        arch: "arm64",
        url: "https://github.com/graalvm/graalvm-ce-builds/releases/download/jdk-21.0.2/graalvm-community-jdk-21.0.2_linux-aarch64_bin.tar.gz",
        sha256: "a34be691ce68f0acf4655c7c6c63a9a49ed276a11859d7224fd94fc2f657cd7a",
    },
    Build {
        version: "25.0.1",
        build: "25.0.1",
        arch: "amd64",
        url: "https://github.com/graalvm/graalvm-ce-builds/releases/download/jdk-25.0.1/graalvm-community-jdk-25.0.1_linux-x64_bin.tar.gz",
        sha256: "01e39fe1a87f28b842a3e4e3b77be9b544dca3a58fa6e93b924a6106c8bac7fb",
    },
    Build {
        version: "25.0.1",
        build: "25.0.1",
        arch: "arm64",
        url: "https://github.com/graalvm/graalvm-ce-builds/releases/download/jdk-25.0.1/graalvm-community-jdk-25.0.1_linux-aarch64_bin.tar.gz",
        sha256: "7aa0b9935a80e67f37c6025678393dbd123bb6f2226811decbc1a13093fc8ae2",
    },
];

/// The build of `version` for `arch` in `catalog`.
pub fn find(catalog: &[Build], version: &str, arch: &str) -> Option<Build> {
    catalog
        .iter()
        .find(|b| b.version == version && b.arch == arch)
        .copied()
}

/// The versions `catalog` has for `arch`, oldest first, as an error message lists them.
pub fn versions(catalog: &[Build], arch: &str) -> String {
    let mut all: Vec<&str> = catalog
        .iter()
        .filter(|b| b.arch == arch)
        .map(|b| b.version)
        .collect();
    all.dedup();
    all.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_a_pinned_https_url_with_a_sha256() {
        for b in CPYTHON.iter().chain(TEMURIN).chain(GRAALVM_CE) {
            assert!(b.url.starts_with("https://github.com/"), "{b:?}");
            assert!(crate::layout::is_sha256(b.sha256), "{b:?}");
            assert!(b.arch == "amd64" || b.arch == "arm64", "{b:?}");
            assert!(b.build.starts_with(b.version), "{b:?}");
            let arch_in_url = match b.arch {
                "amd64" => ["x86_64", "x64"],
                _ => ["aarch64", "aarch64"],
            };
            assert!(arch_in_url.iter().any(|a| b.url.contains(a)), "{b:?}");
        }
    }

    #[test]
    fn each_version_has_both_architectures_and_the_required_ones_are_there() {
        for catalog in [CPYTHON, TEMURIN, GRAALVM_CE] {
            for b in catalog {
                let other = if b.arch == "amd64" { "arm64" } else { "amd64" };
                assert!(find(catalog, b.version, other).is_some(), "{b:?}");
            }
        }
        for v in ["3.11.7", "3.11.14", "3.12.12", "3.13.11"] {
            assert!(find(CPYTHON, v, "amd64").is_some(), "{v}");
        }
        for v in ["21.0.1", "21.0.9", "25.0.1"] {
            assert!(find(TEMURIN, v, "arm64").is_some(), "{v}");
        }
        for v in ["21.0.1", "21.0.2", "25.0.1"] {
            assert!(find(GRAALVM_CE, v, "amd64").is_some(), "{v}");
        }
        assert_eq!(
            versions(CPYTHON, "amd64"),
            "3.11.7, 3.11.14, 3.12.12, 3.13.11"
        );
        // The upstream manifest's pin is the catalog's, byte for byte.
        assert_eq!(
            find(CPYTHON, "3.11.7", "amd64").map(|b| b.sha256),
            Some("4a51ce60007a6facf64e5495f4cf322e311ba9f39a8cd3f3e4c026eae488e140")
        );
    }
}
