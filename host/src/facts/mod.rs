//! Gathers the host facts plugins decide from: os-release, `uname`, the C library, and the
//! NVIDIA driver's reports. Plugins never read the host themselves.

pub mod interpreters;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::plugin::types::{HostFacts, LibcFamily, LibcInfo, NvidiaFacts};

/// How long `nvidia-smi` may take before it is killed (a wedged driver can hang it).
const NVIDIA_SMI_TIMEOUT: Duration = Duration::from_secs(10);
/// Reports larger than this are cut; real ones are a few KiB.
const MAX_REPORT: u64 = 1 << 20;

/// Where to read facts from.
#[derive(Debug, Clone)]
pub struct FactsSource {
    /// Read files below this directory instead of `/`: a snapshot of another machine's
    /// `etc/os-release` and `proc/driver/nvidia/version`. Programs such as `nvidia-smi` are
    /// only run when this is `/`.
    pub sysroot: PathBuf,
    /// Overrides `uname -m` (with a sysroot, the snapshot's machine).
    pub machine: Option<String>,
}

impl Default for FactsSource {
    fn default() -> Self {
        FactsSource {
            sysroot: PathBuf::from("/"),
            machine: None,
        }
    }
}

/// Collects the facts. Missing files are absent facts, not errors: the plugins decide
/// whether they can work without them.
pub fn gather(source: &FactsSource, platform_override: Option<String>) -> HostFacts {
    let root = &source.sysroot;
    let os_release = read_text(&root.join("etc/os-release"))
        .or_else(|| read_text(&root.join("usr/lib/os-release")));
    let (machine, kernel) = uname();
    let live = root == Path::new("/");
    HostFacts {
        os_release,
        machine: source.machine.clone().unwrap_or(machine),
        kernel,
        libc: libc_info(),
        nvidia: nvidia(root, live),
        tools: Vec::new(),
        platform_override,
    }
}

fn read_text(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_REPORT).read_to_string(&mut text).ok()?;
    Some(text)
}

/// `uname -m` and `uname -r`.
fn uname() -> (String, String) {
    // SAFETY: uname fills the zeroed struct with NUL-terminated strings.
    let mut buf: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut buf) } != 0 {
        return (std::env::consts::ARCH.to_string(), String::new());
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&buf.machine), field(&buf.release))
}

/// The C library jrt itself runs on, which is the host's.
fn libc_info() -> Option<LibcInfo> {
    #[cfg(target_env = "gnu")]
    {
        // SAFETY: gnu_get_libc_version returns a static NUL-terminated string.
        let version = unsafe { std::ffi::CStr::from_ptr(libc::gnu_get_libc_version()) };
        Some(LibcInfo {
            family: LibcFamily::Glibc,
            version: version.to_string_lossy().into_owned(),
        })
    }
    #[cfg(target_env = "musl")]
    {
        Some(LibcInfo {
            family: LibcFamily::Musl,
            version: String::new(),
        })
    }
    #[cfg(not(any(target_env = "gnu", target_env = "musl")))]
    {
        Some(LibcInfo {
            family: LibcFamily::Unknown,
            version: String::new(),
        })
    }
}

/// The NVIDIA driver's reports, or none when no driver is visible.
fn nvidia(root: &Path, live: bool) -> Option<NvidiaFacts> {
    let proc_version = read_text(&root.join("proc/driver/nvidia/version"));
    let smi = if live {
        find_in_path("nvidia-smi")
    } else {
        None
    };
    if proc_version.is_none() && smi.is_none() {
        return None;
    }
    let (smi_summary, smi_query) = match &smi {
        Some(smi) => {
            let summary = run_capped(smi, &[]);
            let query = run_capped(
                smi,
                &[
                    "--query-gpu=name,memory.total,driver_version,compute_cap",
                    "--format=csv,noheader,nounits",
                ],
            )
            // Drivers before 510 do not know compute_cap and refuse the whole query.
            .or_else(|| {
                run_capped(
                    smi,
                    &[
                        "--query-gpu=name,memory.total,driver_version",
                        "--format=csv,noheader,nounits",
                    ],
                )
            });
            (summary, query)
        }
        None => (None, None),
    };
    Some(NvidiaFacts {
        proc_version,
        smi_summary,
        smi_query,
    })
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs a program with a timeout; its stdout when it exits 0.
fn run_capped(program: &Path, args: &[&str]) -> Option<String> {
    use std::io::Read;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = (&mut stdout).take(MAX_REPORT).read_to_end(&mut out);
        out
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < NVIDIA_SMI_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = reader.join().ok()?;
    status
        .filter(|s| s.success())
        .map(|_| String::from_utf8_lossy(&out).into_owned())
}
