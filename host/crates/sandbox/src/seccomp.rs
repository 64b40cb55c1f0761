//! The seccomp filter every confined program runs under: the system calls that reach past the
//! sandbox (mounts, tracing, kexec, kernel modules, bpf, the keyring, new namespaces,
//! `personality` changes, io_uring, handles to files by inode) fail with `EPERM`.
//!
//! Built with `seccompiler` (rust-vmm, the filter compiler of Firecracker): pure Rust, no C
//! library to install on every node, and the BPF is compiled once in the parent, so the child
//! only installs it. `libseccomp` would add a C dependency for nothing we use. The filters
//! allow by default and refuse a list, because what setup runs (pip, compilers, JDK tools) is
//! open-ended; the namespaces and dropped capabilities are what deny the rest, and this list
//! makes the dangerous calls fail even where a kernel bug would let them through.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use super::SandboxError;

/// The programs to install, in order, built once.
pub fn programs() -> Result<&'static [BpfProgram], SandboxError> {
    // Built once per process; a failure (an architecture seccompiler does not know) is kept
    // as its message, which every later sandbox repeats.
    static BUILT: OnceLock<Result<Vec<BpfProgram>, String>> = OnceLock::new();
    BUILT
        .get_or_init(|| build().map_err(|e| e.to_string()))
        .as_ref()
        .map(Vec::as_slice)
        .map_err(|e| SandboxError::Seccomp(e.clone()))
}

/// Refused outright.
const REFUSED: &[i64] = &[
    libc::SYS_mount,
    libc::SYS_umount2,
    libc::SYS_pivot_root,
    libc::SYS_chroot,
    libc::SYS_move_mount,
    libc::SYS_open_tree,
    libc::SYS_fsopen,
    libc::SYS_fsconfig,
    libc::SYS_fsmount,
    libc::SYS_fspick,
    libc::SYS_mount_setattr,
    libc::SYS_ptrace,
    libc::SYS_process_vm_readv,
    libc::SYS_process_vm_writev,
    libc::SYS_kexec_load,
    libc::SYS_kexec_file_load,
    libc::SYS_init_module,
    libc::SYS_finit_module,
    libc::SYS_delete_module,
    libc::SYS_bpf,
    libc::SYS_keyctl,
    libc::SYS_add_key,
    libc::SYS_request_key,
    libc::SYS_unshare,
    libc::SYS_setns,
    libc::SYS_userfaultfd,
    libc::SYS_perf_event_open,
    libc::SYS_open_by_handle_at,
    libc::SYS_name_to_handle_at,
    libc::SYS_io_uring_setup,
    libc::SYS_io_uring_enter,
    libc::SYS_io_uring_register,
    libc::SYS_acct,
    libc::SYS_swapon,
    libc::SYS_swapoff,
    libc::SYS_reboot,
    libc::SYS_settimeofday,
    libc::SYS_clock_settime,
    libc::SYS_quotactl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_iopl,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_ioperm,
];

/// `clone` flags that make namespaces.
const NAMESPACE_FLAGS: [libc::c_int; 7] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWCGROUP,
];

/// x32 system calls are the x86_64 numbers with this bit set; the filter refuses those too.
#[cfg(target_arch = "x86_64")]
const X32: i64 = 0x4000_0000;

fn build() -> Result<Vec<BpfProgram>, seccompiler::Error> {
    let arch = TargetArch::try_from(std::env::consts::ARCH)?;
    let err = seccompiler::Error::from;

    let mut refused: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for &nr in REFUSED {
        refused.insert(nr, Vec::new());
        #[cfg(target_arch = "x86_64")]
        refused.insert(nr | X32, Vec::new());
    }
    // clone with a namespace flag (its flags are the first argument on every architecture).
    let clone_rules = NAMESPACE_FLAGS
        .iter()
        .map(|&flag| {
            let flag = flag as u64;
            SeccompCondition::new(
                0,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::MaskedEq(flag),
                flag,
            )
            .and_then(|c| SeccompRule::new(vec![c]))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    refused.insert(libc::SYS_clone, clone_rules);
    // personality: only the query (0xffffffff) and plain Linux (0) are allowed.
    let personality = SeccompRule::new(vec![
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0).map_err(err)?,
        SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, 0xffff_ffff)
            .map_err(err)?,
    ])
    .map_err(err)?;
    refused.insert(libc::SYS_personality, vec![personality]);
    let refuse = SeccompFilter::new(
        refused,
        SeccompAction::Allow,
        SeccompAction::Errno(libc::EPERM as u32),
        arch,
    )
    .map_err(err)?;

    // clone3 passes its flags in memory, which a filter cannot read: say it does not exist,
    // and the C library falls back to clone, whose flags the filter above checks.
    let clone3 = SeccompFilter::new(
        [(libc::SYS_clone3, Vec::new())].into_iter().collect(),
        SeccompAction::Allow,
        SeccompAction::Errno(libc::ENOSYS as u32),
        arch,
    )
    .map_err(err)?;

    [refuse, clone3]
        .into_iter()
        .map(|f| BpfProgram::try_from(f).map_err(err))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_filters_compile_for_this_architecture() {
        let programs = super::programs().unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|p| !p.is_empty()));
    }
}
