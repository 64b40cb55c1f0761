//! The driver table, the PyTorch tag, the cuda manifest checks and version capture.

use jrt_plugin_cuda::Cuda;
use jrt_plugin_cuda::capture::{PROBE_TORCH, capture};
use jrt_plugin_cuda::requirements::{driver_need, driver_problem, torch_tag};
use jrt_plugin_kit::Guest;
use jrt_plugin_kit::types::{FieldValue, Manifest, ManifestField, PluginError, ProbeOutput};

fn manifest(cuda: &str, pins: &[&str], cpu_ok: bool) -> Manifest {
    Manifest {
        source: "runtimes/python-3.11-pytorch-cuda".into(),
        name: "python-3.11-pytorch-cuda".into(),
        version: "1.3.5".into(),
        description: String::new(),
        families: vec!["python".into(), "cuda".into()],
        platforms: vec!["ubuntu-amd64".into()],
        fields: vec![
            ManifestField {
                key: "cuda_version".into(),
                value: FieldValue::Text(cuda.into()),
            },
            ManifestField {
                key: "packages".into(),
                value: FieldValue::TextList(pins.iter().map(|s| s.to_string()).collect()),
            },
            ManifestField {
                key: "allow_cpu_only".into(),
                value: FieldValue::Boolean(cpu_ok),
            },
        ],
    }
}

const UPSTREAM_PINS: [&str; 4] = [
    "torch==2.1.0+cu118",
    "torchvision==0.16.0+cu118",
    "torchaudio==2.1.0+cu118",
    "numpy==1.26.2",
];

#[test]
fn drivers_and_tags() {
    assert_eq!(torch_tag("11.8.0").as_deref(), Some("cu118"));
    assert_eq!(torch_tag("12.1").as_deref(), Some("cu121"));
    let need = driver_need("11.8.0").unwrap();
    assert_eq!(
        (need.minimum, need.toolkit),
        ("450.80.02", Some("520.61.05"))
    );
    assert_eq!(driver_problem("11.8.0", "535.129.03"), None);
    assert_eq!(driver_problem("11.8.0", "450.80.02"), None);
    let p = driver_problem("11.8.0", "418.87.01").unwrap();
    assert!(p.contains("needs NVIDIA driver 450.80.02 or newer (520.61.05 recommended); this host has 418.87.01"), "{p}");
    assert!(driver_problem("12.4.0", "470.223.02").is_some());
    assert!(
        driver_problem("10.2", "550.54.15")
            .unwrap()
            .contains("not in jrt's driver table")
    );
}

#[test]
fn the_upstream_pytorch_manifest_is_consistent_and_a_wrong_tag_is_named() {
    assert!(Cuda::validate_manifest(manifest("11.8.0", &UPSTREAM_PINS, false)).is_empty());
    let d = Cuda::validate_manifest(manifest("12.1.0", &UPSTREAM_PINS, false));
    let fields: Vec<&str> = d.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["packages[0]", "packages[1]", "packages[2]"]);
    assert!(
        d[0].message
            .contains("built for cu118, but cuda_version 12.1.0 needs +cu121"),
        "{}",
        d[0].message
    );
    let d = Cuda::validate_manifest(Manifest {
        fields: vec![],
        ..manifest("11.8.0", &[], false)
    });
    assert!(
        d.iter()
            .any(|d| d.field == "cuda_version" && d.message.contains("is missing"))
    );
}

fn torch(stdout: &str) -> Vec<ProbeOutput> {
    vec![ProbeOutput {
        name: PROBE_TORCH.into(),
        exit_code: Some(0),
        stdout: stdout.into(),
        stderr: String::new(),
    }]
}

#[test]
fn capture_records_cuda_and_refuses_silent_cpu_only() {
    let lock = capture(&manifest("11.8.0", &[], false), &torch("11.8\nTrue\n")).unwrap();
    assert_eq!(
        lock.components[0],
        ("torch-cuda".to_string(), "11.8".to_string())
    );
    assert_eq!(
        lock.components[1],
        ("cuda-available".to_string(), "true".to_string())
    );

    let e = capture(&manifest("11.8.0", &[], false), &torch("11.8\nFalse\n")).unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("allow_cpu_only")),
        "{e:?}"
    );
    let lock = capture(&manifest("11.8.0", &[], true), &torch("11.8\nFalse\n")).unwrap();
    assert!(lock.notes[0].starts_with("cpu-only"));

    let e = capture(&manifest("11.8.0", &[], true), &torch("12.1\nTrue\n")).unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("CUDA 12.1")),
        "{e:?}"
    );
    let e = capture(&manifest("11.8.0", &[], true), &torch("None\nFalse\n")).unwrap_err();
    assert!(
        matches!(&e, PluginError::Unsatisfiable(m) if m.contains("CPU-only build")),
        "{e:?}"
    );
}
