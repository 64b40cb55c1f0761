//! The cuda plan on driver outputs (testdata/nvidia).

use jrt_plugin_cuda::Cuda;
use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{
    FieldValue, HostFacts, Manifest, ManifestField, NvidiaFacts, PluginError, SetupRequest,
    SetupStep,
};

fn fixture(name: &str) -> String {
    let path = format!("{}/../../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn manifest(families: &[&str], cpu_only: bool, pins: &[&str]) -> Manifest {
    Manifest {
        source: "runtimes/python-3.11-pytorch-cuda".into(),
        name: "python-3.11-pytorch-cuda".into(),
        version: "1.3.5".into(),
        description: String::new(),
        families: families.iter().map(|s| s.to_string()).collect(),
        platforms: vec!["ubuntu-amd64".into()],
        fields: vec![
            ManifestField {
                key: "cuda_version".into(),
                value: FieldValue::Text("11.8.0".into()),
            },
            ManifestField {
                key: "allow_cpu_only".into(),
                value: FieldValue::Boolean(cpu_only),
            },
            ManifestField {
                key: "packages".into(),
                value: FieldValue::TextList(pins.iter().map(|s| s.to_string()).collect()),
            },
        ],
    }
}

fn driver(version: &str, gpu: &str) -> NvidiaFacts {
    NvidiaFacts {
        proc_version: Some(fixture(&format!("nvidia/proc-version-{version}"))),
        smi_summary: Some(fixture(&format!("nvidia/smi-{version}-{gpu}"))),
        smi_query: Some(fixture(&format!("nvidia/smi-query-{version}-{gpu}"))),
    }
}

fn request(manifest: Manifest, nvidia: Option<NvidiaFacts>) -> SetupRequest {
    let facts = HostFacts {
        os_release: Some(fixture("os-release/ubuntu-22.04")),
        machine: "x86_64".into(),
        kernel: "5.15.0-91-generic".into(),
        libc: None,
        nvidia,
        tools: vec![],
        platform_override: None,
    };
    let platform = Cuda::detect_platform(facts.clone()).unwrap();
    SetupRequest {
        manifest,
        platform,
        facts,
    }
}

const PINS: [&str; 4] = [
    "numpy==1.26.2",
    "torch==2.1.0+cu118",
    "torchvision==0.16.0+cu118",
    "torchaudio==2.1.0+cu118",
];

fn pip_step(plan: &jrt_plugin_kit::types::Plan) -> String {
    plan.steps
        .iter()
        .find_map(|s| match s {
            SetupStep::Run(r) if r.args.contains(&"install".to_string()) => Some(r.args.join(" ")),
            _ => None,
        })
        .expect("a pip install step")
}

#[test]
fn with_a_capable_driver_the_cu118_builds_are_planned() {
    let plan = Cuda::plan_setup(request(
        manifest(&["python", "cuda"], false, &PINS),
        Some(driver("535.129.03", "a100")),
    ))
    .unwrap();
    assert!(
        pip_step(&plan).contains("--extra-index-url https://download.pytorch.org/whl/cu118"),
        "{}",
        pip_step(&plan)
    );
    let req = plan
        .steps
        .iter()
        .find_map(|s| match s {
            SetupStep::WriteFile(w) => Some(String::from_utf8(w.contents.clone()).unwrap()),
            _ => None,
        })
        .unwrap();
    assert!(
        req.contains("torch==2.1.0+cu118") && !req.contains("numpy"),
        "{req}"
    );
    assert!(
        plan.environment
            .contains(&("CUDA_VERSION".into(), "11.8.0".into()))
    );
    assert_eq!(plan.probes[0].name, "torch-cuda");
}

#[test]
fn an_old_driver_is_refused_naming_what_is_needed() {
    // 470 runs CUDA 11.x under minor-version compatibility; a made-up 440 does not.
    assert!(
        Cuda::plan_setup(request(
            manifest(&["python", "cuda"], false, &PINS),
            Some(driver("470.223.02", "t4")),
        ))
        .is_ok()
    );
    let mut old = driver("470.223.02", "t4");
    old.proc_version = Some(old.proc_version.unwrap().replace("470.223.02", "440.33.01"));
    old.smi_summary = Some(old.smi_summary.unwrap().replace("470.223.02", "440.33.01"));
    old.smi_query = Some(old.smi_query.unwrap().replace("470.223.02", "440.33.01"));
    let e = Cuda::plan_setup(request(
        manifest(&["python", "cuda"], false, &PINS),
        Some(old),
    ))
    .unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("450.80.02") && m.contains("440.33.01")),
        "{e:?}"
    );
}

#[test]
fn without_a_gpu_only_an_explicit_cpu_only_manifest_is_planned() {
    let e =
        Cuda::plan_setup(request(manifest(&["python", "cuda"], false, &PINS), None)).unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("no NVIDIA driver") && m.contains("allow_cpu_only")),
        "{e:?}"
    );
    let plan = Cuda::plan_setup(request(manifest(&["python", "cuda"], true, &PINS), None)).unwrap();
    assert!(pip_step(&plan).contains("whl/cu118"));
}

#[test]
fn mismatched_tags_and_a_missing_python_family_are_refused() {
    let e = Cuda::plan_setup(request(
        manifest(&["python", "cuda"], true, &["torch==2.1.0+cu121"]),
        None,
    ))
    .unwrap_err();
    assert!(format!("{e:?}").contains("+cu118"), "{e:?}");
    let e = Cuda::plan_setup(request(manifest(&["cuda"], true, &PINS), None)).unwrap_err();
    assert!(format!("{e:?}").contains("family: [python, cuda]"), "{e:?}");
}
