//! The stable, machine-readable kind of every error jrt reports (`"kind"` in `--json`
//! output). Messages may be reworded between releases; these names do not change.
//! docs/cli.md lists them, and a test keeps that list and [`Kind::ALL`] equal.

use serde::Serialize;

use jrt_client::fetch::FetchError;
use jrt_client::http::HttpError;
use jrt_extract::ExtractError;
use jrt_install::source::SetUpError;
use jrt_install::{Failure, InstallError};
use jrt_oci::OciError;
use jrt_plugin_host::PluginError;
use jrt_registry::signature::SignatureError;
use jrt_registry::source::SourceError;

use super::Error;

/// What kind of failure an error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The command line asks for something that cannot be (exit 2).
    Usage,
    /// No such runtime or version in the registries, or not installed.
    NotFound,
    /// The runtime has no package for this platform.
    Platform,
    /// A registry, package or mirror could not be reached, or answered with an error.
    Network,
    /// The network was needed and `--offline` forbids it.
    Offline,
    /// Bytes that do not match their pin: checksum, size, digest, or an install that differs
    /// from its receipt.
    Integrity,
    /// Refused for trust: a signature missing, invalid, expired or rolled back; plain http
    /// to another machine; a directory others can write.
    Untrusted,
    /// A package or registry document that is malformed, unsafe or over a cap.
    Package,
    /// Runtime manifests (manifest.yaml) that do not validate.
    Manifest,
    /// The config file.
    Config,
    /// A plugin that is not a plugin, failed, crashed, timed out or ran out of memory.
    Plugin,
    /// A source package's setup failed.
    Setup,
    /// A change refused because it would overwrite what is published or pinned.
    Conflict,
    /// The sandbox could not be set up, or the command could not be started in it.
    Sandbox,
    /// The local filesystem: permissions, space, a path that cannot be written.
    Io,
    /// Some items of a batch failed; each carries its own kind in the document.
    Failed,
}

impl Kind {
    /// Every kind, in the order docs/cli.md lists them.
    pub const ALL: [Kind; 16] = [
        Kind::Usage,
        Kind::NotFound,
        Kind::Platform,
        Kind::Network,
        Kind::Offline,
        Kind::Integrity,
        Kind::Untrusted,
        Kind::Package,
        Kind::Manifest,
        Kind::Config,
        Kind::Plugin,
        Kind::Setup,
        Kind::Conflict,
        Kind::Sandbox,
        Kind::Io,
        Kind::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::NotFound => "not-found",
            Kind::Platform => "platform",
            Kind::Network => "network",
            Kind::Offline => "offline",
            Kind::Integrity => "integrity",
            Kind::Untrusted => "untrusted",
            Kind::Package => "package",
            Kind::Manifest => "manifest",
            Kind::Config => "config",
            Kind::Plugin => "plugin",
            Kind::Setup => "setup",
            Kind::Conflict => "conflict",
            Kind::Sandbox => "sandbox",
            Kind::Io => "io",
            Kind::Failed => "failed",
        }
    }
}

impl Error {
    /// This error's [`Kind`].
    pub fn kind(&self) -> Kind {
        use jrt_registry::lookup::LookupError;
        match self {
            Error::Usage(_) => Kind::Usage,
            Error::NoRoot | Error::NoCache => Kind::Config,
            Error::Invalid { .. } => Kind::Manifest,
            Error::Config(_) | Error::Mirror(_) => Kind::Config,
            Error::Untrusted(_) => Kind::Untrusted,
            Error::Http(e) => http(e),
            Error::Plugin(e) => plugin(e),
            Error::Signature(e) => signature(e),
            Error::Source(e) => source(e),
            Error::Resolve(e) => resolve(e),
            Error::Lookup(LookupError::Resolve(e)) => resolve(e),
            Error::Lookup(LookupError::Oci { source: e, .. }) => match e.as_ref() {
                jrt_registry::oci::OciSourceError::Oci(e) => oci(e),
                jrt_registry::oci::OciSourceError::Resolve(e) => resolve(e),
                _ => Kind::Package,
            },
            Error::Lookup(LookupError::NoClient(_)) => Kind::Config,
            Error::Oci(e) => failure(e),
            Error::Push(e) => {
                use jrt_publish::push::PushError;
                match e {
                    PushError::Oci(e) => oci(e),
                    PushError::Immutable { .. } => Kind::Conflict,
                    PushError::MissingLayer { .. } => Kind::NotFound,
                    PushError::Package { .. } | PushError::Inspect(_) => Kind::Package,
                    PushError::Io(_) => Kind::Io,
                }
            }
            Error::Detect(e) => match e {
                super::detect::DetectError::UnknownPlatform(_) => Kind::Usage,
                super::detect::DetectError::Unsupported(_) => Kind::Platform,
                super::detect::DetectError::Plugin(e) => plugin(e),
            },
            Error::Install(e) => install(e),
            Error::Build(e) => {
                use jrt_publish::build::BuildError;
                match e {
                    BuildError::Manifest(_) | BuildError::NameMismatch { .. } => Kind::Manifest,
                    BuildError::Platform { .. } => Kind::Platform,
                    BuildError::Setup { reason, .. } => set_up(reason),
                    BuildError::Base { .. } => Kind::NotFound,
                    BuildError::Io(_) => Kind::Io,
                }
            }
            Error::Release(e) => {
                use jrt_publish::release::ReleaseError;
                match e {
                    ReleaseError::BadTag(_) => Kind::Usage,
                    ReleaseError::UnknownRuntime { .. } => Kind::NotFound,
                    ReleaseError::Write { .. } => Kind::Io,
                    _ => Kind::Manifest,
                }
            }
            Error::Remove(e) => of(e).unwrap_or(Kind::Io),
            Error::Io(_) => Kind::Io,
        }
    }
}

/// The [`Kind`] of an error from one of the ops, when it is one (or wraps one).
pub fn of(e: &(dyn std::error::Error + 'static)) -> Option<Kind> {
    if let Some(e) = e.downcast_ref::<Error>() {
        return Some(e.kind());
    }
    if let Some(e) = e.downcast_ref::<InstallError>() {
        return Some(install(e));
    }
    if let Some(e) = e.downcast_ref::<super::installed::RemoveError>() {
        return Some(match e {
            super::installed::RemoveError::NotInstalled { .. } => Kind::NotFound,
            super::installed::RemoveError::Io(_) => Kind::Io,
        });
    }
    if let Some(e) = e.downcast_ref::<super::run::RunError>() {
        use super::run::RunError;
        return Some(match e {
            RunError::NotInstalled(_) => Kind::NotFound,
            RunError::RuntimeYml { .. } => Kind::Package,
            RunError::Mount(_) | RunError::Exec { .. } => Kind::Sandbox,
            RunError::Options(_) => Kind::Usage,
        });
    }
    if e.downcast_ref::<jrt_fs::IoError>().is_some() {
        return Some(Kind::Io);
    }
    None
}

/// The [`Kind`] of one runtime's failed install.
pub fn install(e: &InstallError) -> Kind {
    match e {
        InstallError::RootNotWritable { .. } | InstallError::Io(_) => Kind::Io,
        InstallError::Fetch { source, .. } => fetch(source),
        InstallError::Extract { source, .. } => extract(source),
        InstallError::NeedsSetup { .. } => Kind::Setup,
        InstallError::Setup { reason, .. } => set_up(reason),
        InstallError::Modified { .. } => Kind::Integrity,
        InstallError::Url { .. } | InstallError::Registry { .. } => Kind::Package,
        InstallError::Oci { source, .. } => oci(source),
    }
}

fn failure(e: &Failure) -> Kind {
    match e {
        Failure::Fetch(e) => fetch(e),
        Failure::Extract(e) => extract(e),
        Failure::Oci(e) => oci(e),
        Failure::Registry(_) => Kind::Package,
        Failure::Io(_) => Kind::Io,
    }
}

fn http(e: &HttpError) -> Kind {
    match e {
        HttpError::Status { status: 404, .. } => Kind::NotFound,
        HttpError::Status { .. } | HttpError::Transport { .. } => Kind::Network,
        HttpError::Refused { .. } => Kind::Untrusted,
    }
}

fn fetch(e: &FetchError) -> Kind {
    match e {
        FetchError::TooLarge { .. } | FetchError::TooShort { .. } | FetchError::Checksum { .. } => {
            Kind::Integrity
        }
        FetchError::Transfer { .. } => Kind::Network,
        FetchError::Http(e) => http(e),
        FetchError::Offline { .. } => Kind::Offline,
        FetchError::Scheme { .. } => Kind::Package,
        FetchError::Io(_) => Kind::Io,
    }
}

fn extract(e: &ExtractError) -> Kind {
    match e {
        ExtractError::Io(_) => Kind::Io,
        _ => Kind::Package,
    }
}

fn oci(e: &OciError) -> Kind {
    match e {
        OciError::Location(_) => Kind::Usage,
        OciError::Http(e) => http(e),
        OciError::Status { status: 404, .. } => Kind::NotFound,
        OciError::Status { .. } | OciError::Auth { .. } => Kind::Network,
        OciError::TooLarge { .. } | OciError::Invalid { .. } => Kind::Package,
        OciError::Digest { .. } => Kind::Integrity,
        OciError::Fetch(e) => fetch(e),
        OciError::Io(_) => Kind::Io,
    }
}

fn plugin(e: &PluginError) -> Kind {
    match e {
        PluginError::PinMismatch { .. } | PluginError::ShaMismatch { .. } => Kind::Integrity,
        PluginError::ShadowsBuiltin { .. } => Kind::Conflict,
        PluginError::InsecureUrl { .. } => Kind::Untrusted,
        PluginError::NotAdded { .. } => Kind::NotFound,
        PluginError::Io(_) => Kind::Io,
        _ => Kind::Plugin,
    }
}

fn signature(e: &SignatureError) -> Kind {
    match e {
        SignatureError::BadPublicKey(..) => Kind::Config,
        SignatureError::Io(_) => Kind::Io,
        _ => Kind::Untrusted,
    }
}

fn source(e: &SourceError) -> Kind {
    match e {
        SourceError::Unrecognised(_) | SourceError::Location(_) => Kind::Config,
        SourceError::Read(..) => Kind::Network,
        SourceError::TooLarge(_) | SourceError::Index(_) => Kind::Package,
        SourceError::Manifest(_) => Kind::Manifest,
        SourceError::Signature(e) => signature(e),
        SourceError::Unsignable(_) | SourceError::UnsignableOci(_) => Kind::Untrusted,
    }
}

fn resolve(e: &jrt_registry::ResolveError) -> Kind {
    match e {
        jrt_registry::ResolveError::Platform { .. } => Kind::Platform,
        _ => Kind::NotFound,
    }
}

fn set_up(e: &SetUpError) -> Kind {
    match e {
        SetUpError::Plugin(e) => plugin(e),
        SetUpError::Fetch(e) => fetch(e),
        SetUpError::Http(e) => http(e),
        SetUpError::Extract(e) => extract(e),
        SetUpError::Oci(e) => failure(e),
        SetUpError::Io(_) => Kind::Io,
        SetUpError::NoPlugin { .. } => Kind::Plugin,
        // What stopped the plugins from loading (a changed added plugin, say) says more.
        SetUpError::NoPlugins(e) => {
            let inner: &(dyn std::error::Error + 'static) = &***e;
            of(inner).unwrap_or(Kind::Plugin)
        }
        SetUpError::NotTarGz { .. }
        | SetUpError::NoManifest(_)
        | SetUpError::NoManifestAtTop(_)
        | SetUpError::PrebuiltRuntimeYml(_)
        | SetUpError::Url(_) => Kind::Package,
        SetUpError::Manifest(_)
        | SetUpError::NoFamily
        | SetUpError::Invalid { .. }
        | SetUpError::GrantShape
        | SetUpError::GrantList(_)
        | SetUpError::GrantEntry { .. } => Kind::Manifest,
        _ => Kind::Setup,
    }
}
