//! Gathers the host facts plugins decide from: os-release, `uname`, the C library, and the
//! NVIDIA driver's reports. Plugins never read the host themselves.

pub mod interpreters;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use jrt_plugin_host::types::{HostFacts, LibcFamily, LibcInfo, NvidiaFacts};

/// How long `nvidia-smi` may take before it is killed (a wedged driver can hang it).
const NVIDIA_SMI_TIMEOUT: Duration = Duration::from_secs(10);
/// Reports larger than this are cut; real ones are a few KiB.
const MAX_REPORT: usize = 1 << 20;

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
    HostFacts {
        nvidia: nvidia(root, root == Path::new("/")),
        ..gather_platform(source, platform_override)
    }
}

/// The facts the platform is decided from (os-release, `uname`, the C library), without the
/// NVIDIA driver's reports: running `nvidia-smi` takes a while, and only setups use them.
pub fn gather_platform(source: &FactsSource, platform_override: Option<String>) -> HostFacts {
    let root = &source.sysroot;
    let os_release = read_text(&root.join("etc/os-release"))
        .or_else(|| read_text(&root.join("usr/lib/os-release")));
    let (machine, kernel) = uname();
    HostFacts {
        os_release,
        machine: source.machine.clone().unwrap_or(machine),
        kernel,
        libc: libc_info(),
        nvidia: None,
        tools: Vec::new(),
        platform_override,
    }
}

fn read_text(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_REPORT as u64)
        .read_to_string(&mut text)
        .ok()?;
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

/// The executable `program` on `PATH`, as a shell would find it.
pub(crate) fn find_in_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// What a program run by [`run_timed`] printed; only returned when it exited 0.
pub(crate) struct Ran {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs one of the host's own tools with a timeout ([`jrt_sandbox::process::run`]). `None` when it
/// cannot start, is killed, or fails.
pub(crate) fn run_timed(program: &Path, args: &[&str], timeout: Duration) -> Option<Ran> {
    let done = jrt_sandbox::process::run(
        Command::new(program).args(args),
        jrt_sandbox::process::Keep::Head(MAX_REPORT),
        timeout,
        |cmd| cmd.spawn(),
    )
    .ok()?;
    if done.timed_out || done.code != Some(0) {
        return None;
    }
    Some(Ran {
        code: done.code,
        stdout: done.stdout,
        stderr: done.stderr,
    })
}

/// `program`'s stdout, run with the `nvidia-smi` timeout.
fn run_capped(program: &Path, args: &[&str]) -> Option<String> {
    run_timed(program, args, NVIDIA_SMI_TIMEOUT).map(|r| r.stdout)
}
