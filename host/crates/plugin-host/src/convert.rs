//! Conversions between the records of the plugin API versions the host binds
//! (`wit/since_v*`), so the rest of jrt sees one set of types: the newest version's.
//!
//! Most records are the same in every 1.x version; [`every_minor!`] converts those field by
//! field. Each older version's module (`since_v1_0_0`, `since_v1_1_0`) adds what differs,
//! filled the conservative way.

use super::bindings::types as new;

/// A conversion between the same record of two API versions.
pub trait Convert<T> {
    fn convert(self) -> T;
}

macro_rules! same {
    ($($t:ty),*) => { $(impl Convert<$t> for $t { fn convert(self) -> $t { self } })* };
}
same!(String, bool, u8, u16, u32, u64, i32, i64, f64);

impl<A: Convert<B>, B> Convert<Vec<B>> for Vec<A> {
    fn convert(self) -> Vec<B> {
        self.into_iter().map(Convert::convert).collect()
    }
}

impl<A: Convert<B>, B> Convert<Option<B>> for Option<A> {
    fn convert(self) -> Option<B> {
        self.map(Convert::convert)
    }
}

impl<A: Convert<C>, B: Convert<D>, C, D> Convert<(C, D)> for (A, B) {
    fn convert(self) -> (C, D) {
        (self.0.convert(), self.1.convert())
    }
}

/// Records with the same fields in both versions, converted field by field (the caller has
/// [`Convert`] in scope).
macro_rules! records {
    ($from:ident => $to:ident: $($name:ident { $($field:ident),* })*) => {$(
        impl Convert<$to::$name> for $from::$name {
            fn convert(self) -> $to::$name {
                $to::$name { $($field: self.$field.convert()),* }
            }
        }
    )*};
}

/// Enums without payloads, converted case by case.
macro_rules! enums {
    ($from:ident => $to:ident: $($name:ident { $($case:ident),* })*) => {$(
        impl Convert<$to::$name> for $from::$name {
            fn convert(self) -> $to::$name {
                match self { $($from::$name::$case => $to::$name::$case),* }
            }
        }
    )*};
}

pub(crate) use {enums, records};

/// The host's own error, for calls to the newest API (so one path serves every version).
impl Convert<new::PluginError> for new::PluginError {
    fn convert(self) -> new::PluginError {
        self
    }
}

/// The conversions that are the same for every older 1.x version: what the host passes in
/// (facts, manifests, requests, probe outputs) and what a plugin returns (its info, platform,
/// diagnostics, plan, versions, errors). `$old`/`$old_host` name the older version's
/// `types`/`host` modules, `$new`/`$host` the newest's; `$network` gives a run step's declared
/// network from the older record (1.0.0 has none).
macro_rules! every_minor {
    ($old:ident, $old_host:ident => $new:ident, $host:ident, network: $network:expr) => {
        impl $crate::convert::Convert<$new::RunProgram> for $old::RunProgram {
            fn convert(self) -> $new::RunProgram {
                let network = ($network)(&self);
                $new::RunProgram {
                    program: self.program,
                    args: self.args,
                    env: self.env,
                    timeout_seconds: self.timeout_seconds,
                    network,
                }
            }
        }

        // What the host passes in: facts, manifests, requests, probe outputs.
        $crate::convert::records!($new => $old:
            LibcInfo { family, version }
            NvidiaFacts { proc_version, smi_summary, smi_query }
            ProbeOutput { name, exit_code, stdout, stderr }
            HostFacts { os_release, machine, kernel, libc, nvidia, tools, platform_override }
            Gpu { name, memory_mib, compute_capability }
            Accelerator { driver_version, cuda_version, gpus }
            Platform { id, os, arch, distro_id, distro_version, distro_name, kernel, libc, accelerator }
            ManifestField { key, value }
            Manifest { source, name, version, description, families, platforms, fields }
            SetupRequest { manifest, platform, facts }
        );
        $crate::convert::enums!($new => $old:
            LibcFamily { Glibc, Musl, Unknown }
            OsFamily { Ubuntu, Rhel, Amzn }
            Arch { Amd64, Arm64 }
        );

        impl $crate::convert::Convert<$old::FieldValue> for $new::FieldValue {
            fn convert(self) -> $old::FieldValue {
                match self {
                    $new::FieldValue::Text(v) => $old::FieldValue::Text(v),
                    $new::FieldValue::Integer(v) => $old::FieldValue::Integer(v),
                    $new::FieldValue::Float(v) => $old::FieldValue::Float(v),
                    $new::FieldValue::Boolean(v) => $old::FieldValue::Boolean(v),
                    $new::FieldValue::TextList(v) => $old::FieldValue::TextList(v),
                    $new::FieldValue::TextMap(v) => $old::FieldValue::TextMap(v),
                }
            }
        }

        // What the plugin returns: its info, platform, diagnostics, plan, versions, errors.
        $crate::convert::records!($old => $new:
            PluginInfo { name, version, families, api_version }
            LibcInfo { family, version }
            Gpu { name, memory_mib, compute_capability }
            Accelerator { driver_version, cuda_version, gpus }
            Platform { id, os, arch, distro_id, distro_version, distro_name, kernel, libc, accelerator }
            Diagnostic { severity, field, message }
            CopyFromHost { source, target, exclude }
            CopyLibraries { binaries, target }
            Fetch { url, sha256, target, unpack, strip_components }
            WriteFile { target, contents, executable }
            MakeSymlink { link, target }
            Mount { source, target, readonly }
            Probe { name, program, args }
            Plan { steps, mounts, environment, probes }
            VersionLock { components, packages, notes }
        );
        $crate::convert::enums!($old => $new:
            LibcFamily { Glibc, Musl, Unknown }
            OsFamily { Ubuntu, Rhel, Amzn }
            Arch { Amd64, Arm64 }
            Severity { Error, Warning }
        );

        impl $crate::convert::Convert<$new::SetupStep> for $old::SetupStep {
            fn convert(self) -> $new::SetupStep {
                match self {
                    $old::SetupStep::Mkdir(p) => $new::SetupStep::Mkdir(p),
                    $old::SetupStep::CopyFromHost(c) => $new::SetupStep::CopyFromHost(c.convert()),
                    $old::SetupStep::CopyLibraries(c) => $new::SetupStep::CopyLibraries(c.convert()),
                    $old::SetupStep::Fetch(f) => $new::SetupStep::Fetch(f.convert()),
                    $old::SetupStep::Run(r) => $new::SetupStep::Run(r.convert()),
                    $old::SetupStep::WriteFile(w) => $new::SetupStep::WriteFile(w.convert()),
                    $old::SetupStep::Symlink(s) => $new::SetupStep::Symlink(s.convert()),
                }
            }
        }

        impl $crate::convert::Convert<$new::PluginError> for $old::PluginError {
            fn convert(self) -> $new::PluginError {
                match self {
                    $old::PluginError::Unsupported(m) => $new::PluginError::Unsupported(m),
                    $old::PluginError::UnsupportedPlatform(m) => $new::PluginError::UnsupportedPlatform(m),
                    $old::PluginError::InvalidInput(m) => $new::PluginError::InvalidInput(m),
                    $old::PluginError::Unsatisfiable(m) => $new::PluginError::Unsatisfiable(m),
                }
            }
        }

        // Every version before 1.2.0 records no hashes.
        impl $crate::convert::Convert<$new::LockedPackage> for $old::LockedPackage {
            fn convert(self) -> $new::LockedPackage {
                $new::LockedPackage {
                    kind: self.kind,
                    name: self.name,
                    version: self.version,
                    sha256: None,
                }
            }
        }

        impl $crate::convert::Convert<$host::LogLevel> for $old_host::LogLevel {
            fn convert(self) -> $host::LogLevel {
                match self {
                    $old_host::LogLevel::Trace => $host::LogLevel::Trace,
                    $old_host::LogLevel::Debug => $host::LogLevel::Debug,
                    $old_host::LogLevel::Info => $host::LogLevel::Info,
                    $old_host::LogLevel::Warn => $host::LogLevel::Warn,
                    $old_host::LogLevel::Error => $host::LogLevel::Error,
                }
            }
        }
    };
}
pub(crate) use every_minor;
