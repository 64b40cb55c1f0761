//! The NVIDIA parsers on driver outputs (testdata/nvidia).

use jrt_plugin_cuda::Cuda;
use jrt_plugin_cuda::nvidia::{accelerator, driver_from_proc, gpus_from_query, versions_from_smi};
use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{HostFacts, NvidiaFacts};

fn fixture(name: &str) -> String {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

#[test]
fn driver_version_from_proc() {
    assert_eq!(
        driver_from_proc(&fixture("nvidia/proc-version-535.129.03")).as_deref(),
        Some("535.129.03")
    );
    assert_eq!(
        driver_from_proc(&fixture("nvidia/proc-version-550.54.15-open")).as_deref(),
        Some("550.54.15")
    );
    assert_eq!(
        driver_from_proc(&fixture("nvidia/proc-version-535.104.05-aarch64")).as_deref(),
        Some("535.104.05")
    );
    assert_eq!(
        driver_from_proc(&fixture("nvidia/proc-version-470.223.02")).as_deref(),
        Some("470.223.02")
    );
    assert_eq!(driver_from_proc(""), None);
    assert_eq!(driver_from_proc("garbage\n"), None);
}

#[test]
fn versions_from_the_smi_header() {
    assert_eq!(
        versions_from_smi(&fixture("nvidia/smi-535.129.03-a100")),
        (Some("535.129.03".into()), Some("12.2".into()))
    );
    assert_eq!(
        versions_from_smi(&fixture("nvidia/smi-550.54.15-h100")),
        (Some("550.54.15".into()), Some("12.4".into()))
    );
    assert_eq!(
        versions_from_smi(&fixture("nvidia/smi-470.223.02-t4")),
        (Some("470.223.02".into()), Some("11.4".into()))
    );
    // nvidia-smi prints this when the driver is not loaded; no version may be invented.
    assert_eq!(
        versions_from_smi(
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
        ),
        (None, None)
    );
}

#[test]
fn gpus_from_the_query() {
    let a100 = gpus_from_query(&fixture("nvidia/smi-query-535.129.03-a100"));
    assert_eq!(a100.len(), 2);
    assert_eq!(a100[0].name, "NVIDIA A100-SXM4-40GB");
    assert_eq!(a100[0].memory_mib, 40960);
    assert_eq!(a100[0].compute_capability.as_deref(), Some("8.0"));

    let t4 = gpus_from_query(&fixture("nvidia/smi-query-470.223.02-t4"));
    assert_eq!(t4.len(), 1);
    assert_eq!(t4[0].name, "Tesla T4");
    assert_eq!(t4[0].compute_capability, None);

    assert!(gpus_from_query("Field \"compute_cap\" is not a valid field to query.\n").is_empty());
    assert!(gpus_from_query("NVIDIA H100, [N/A], 550.54.15, 9.0").is_empty());
}

#[test]
fn accelerator_combines_the_reports() {
    let facts = NvidiaFacts {
        proc_version: Some(fixture("nvidia/proc-version-550.54.15-open")),
        smi_summary: Some(fixture("nvidia/smi-550.54.15-h100")),
        smi_query: Some(fixture("nvidia/smi-query-550.54.15-h100")),
    };
    let a = accelerator(&facts).unwrap();
    assert_eq!(a.driver_version, "550.54.15");
    assert_eq!(a.cuda_version.as_deref(), Some("12.4"));
    assert_eq!(a.gpus.len(), 1);
    assert_eq!(a.gpus[0].name, "NVIDIA H100 80GB HBM3");
    assert_eq!(a.gpus[0].memory_mib, 81559);
    assert_eq!(a.gpus[0].compute_capability.as_deref(), Some("9.0"));

    // Only the kernel module is visible (no nvidia-smi in the PATH).
    let only_proc = NvidiaFacts {
        proc_version: Some(fixture("nvidia/proc-version-535.129.03")),
        smi_summary: None,
        smi_query: None,
    };
    let a = accelerator(&only_proc).unwrap();
    assert_eq!(
        (
            a.driver_version.as_str(),
            a.cuda_version.as_deref(),
            a.gpus.len()
        ),
        ("535.129.03", None, 0)
    );

    let nothing = NvidiaFacts {
        proc_version: None,
        smi_summary: None,
        smi_query: None,
    };
    assert!(accelerator(&nothing).is_none());
}

fn host_facts(nvidia: Option<NvidiaFacts>) -> HostFacts {
    HostFacts {
        os_release: Some(fixture("os-release/ubuntu-22.04")),
        machine: "x86_64".into(),
        kernel: "5.15.0-91-generic".into(),
        libc: None,
        nvidia,
        tools: vec![],
        platform_override: None,
    }
}

#[test]
fn detect_platform_reports_gpus_only_when_there_are_any() {
    let p = Cuda::detect_platform(host_facts(None)).unwrap();
    assert_eq!(p.id, "ubuntu-amd64");
    assert!(p.accelerator.is_none());

    let p = Cuda::detect_platform(host_facts(Some(NvidiaFacts {
        proc_version: Some(fixture("nvidia/proc-version-535.129.03")),
        smi_summary: Some(fixture("nvidia/smi-535.129.03-a100")),
        smi_query: Some(fixture("nvidia/smi-query-535.129.03-a100")),
    })))
    .unwrap();
    let a = p.accelerator.unwrap();
    assert_eq!(
        (
            a.driver_version.as_str(),
            a.cuda_version.as_deref(),
            a.gpus.len()
        ),
        ("535.129.03", Some("12.2"), 2)
    );
}
