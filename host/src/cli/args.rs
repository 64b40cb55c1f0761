//! The command-line grammar (clap).

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "jrt",
    version,
    about = "The runtime registry toolkit for Joblet"
)]
pub struct Cli {
    /// Where runtimes are installed (default: /opt/joblet/runtimes as root, else
    /// $XDG_DATA_HOME/jrt/runtimes).
    #[arg(long, global = true, env = "JRT_ROOT", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// A registry to consult, highest priority first (repeatable).
    #[arg(
        long,
        global = true,
        env = "JRT_REGISTRY",
        value_delimiter = ',',
        value_name = "SRC"
    )]
    pub registry: Vec<String>,
    /// A jrt config file.
    #[arg(long, global = true, env = "JRT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where downloads and compiled plugins are cached (default: $XDG_CACHE_HOME/jrt).
    #[arg(long, global = true, env = "JRT_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use only what is cached; never touch the network.
    #[arg(long, global = true)]
    pub offline: bool,
    /// Allow plain http to other machines (registries, packages, plan fetches, plugins); by
    /// default only https, and http on this machine, are used.
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// Trust registries only when signed by this minisign public key (a .pub file or its
    /// `RW…` line); also refuses expired registries and rollbacks.
    #[arg(long, global = true, env = "JRT_PUBLIC_KEY", value_name = "KEY")]
    pub public_key: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print less.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more (plugin log lines too).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Resolve, download, verify, extract and atomically install runtimes.
    Install {
        /// Runtimes such as python-3.11, python-3.11@1.3.4 or python-3.11@^1.3.
        #[arg(
            required_unless_present = "locked",
            conflicts_with = "locked",
            value_name = "SPEC"
        )]
        specs: Vec<String>,
        /// Install exactly what this lock file (`jrt lock`) lists for this platform: no
        /// resolution, no other registry.
        #[arg(long, value_name = "FILE")]
        locked: Option<PathBuf>,
        /// Reinstall even when installed; the old install stays until the new one is in place.
        #[arg(long)]
        force: bool,
        /// Install for this platform instead of the detected one.
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// How many runtimes to install at once.
        #[arg(long, value_name = "N", default_value_t = 4)]
        jobs: usize,
        /// Show what would be installed, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// List installed runtimes, or what the registries offer.
    List {
        #[arg(long)]
        available: bool,
    },
    /// One runtime: versions, platforms, family, size, checksum, install state.
    Info {
        #[arg(value_name = "SPEC")]
        spec: String,
    },
    /// Remove a runtime: `name` removes every version, `name@version` one.
    Remove {
        #[arg(value_name = "SPEC")]
        spec: String,
    },
    /// Run a command inside an installed runtime the way Joblet runs a job: its runtime.yml
    /// mounts over a read-only view of the host's system directories, in new PID and mount
    /// namespaces with a fresh /proc and a minimal /dev, without capabilities.
    Run {
        #[arg(value_name = "SPEC")]
        spec: String,
        /// Run the command as this user (and group), as Joblet's jobs run: UID or UID:GID.
        #[arg(long, value_name = "UID[:GID]")]
        user: Option<String>,
        /// Run as root with its capabilities, without the seccomp filter and Landlock (jrt
        /// as root only). The namespaces, /proc and /dev stay as they are.
        #[arg(long)]
        privileged: bool,
        /// The command and its arguments, after `--`.
        #[arg(last = true, required = true, value_name = "CMD")]
        command: Vec<String>,
    },
    /// Re-hash installed runtimes against their install receipts.
    Verify {
        #[arg(value_name = "SPEC")]
        specs: Vec<String>,
    },
    /// Check runtime manifests: the schema and each family plugin's own checks.
    Validate {
        /// Runtime directories (default: every runtime under ./runtimes).
        #[arg(value_name = "RUNTIME_DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Show the platform and host facts, as the plugins see them.
    Detect {
        /// Use this platform (such as rhel-arm64) instead of the detected one.
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// Read host files below this directory instead of / (a snapshot of another machine).
        #[arg(long, env = "JRT_SYSROOT", value_name = "DIR", hide = true)]
        sysroot: Option<PathBuf>,
        /// With --sysroot: the snapshot's `uname -m`.
        #[arg(long, value_name = "ARCH", hide = true, requires = "sysroot")]
        machine: Option<String>,
    },
    /// Make packages from runtime directories: source packages, or with --prebuilt
    /// per-platform packages set up on this machine, each with its versions.lock.
    Build {
        #[arg(required = true, value_name = "RUNTIME_DIR")]
        dirs: Vec<PathBuf>,
        /// Build for this platform (such as rhel-arm64) instead of the detected one.
        #[arg(long, value_name = "P")]
        platform: Option<String>,
        /// Where the packages go.
        #[arg(long, value_name = "DIR", default_value = "dist")]
        out: PathBuf,
        /// Run the family plugins' setup and package the result for the platform.
        #[arg(long)]
        prebuilt: bool,
    },
    /// Push packages to an OCI registry (oci://HOST/NAMESPACE): each runtime is the
    /// repository NAMESPACE/<name>, each version a tag. Credentials come from Docker's
    /// config.json (or DOCKER_CONFIG).
    Push {
        /// Packages that `jrt build` wrote (.tar.gz), or a layered package's .layers.json.
        #[arg(required = true, value_name = "PKG")]
        packages: Vec<PathBuf>,
        /// Where: oci://HOST[:PORT]/NAMESPACE.
        #[arg(value_name = "DEST", last = false)]
        dest: String,
        /// Move a published version's tag to other bytes.
        #[arg(long)]
        force: bool,
    },
    /// Edit and sign registry.json files.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
    /// Sync the manifests' versions with a release tag: vX.Y.Z sets every runtime's version,
    /// NAME@X.Y.Z checks that runtime's.
    Release {
        #[arg(value_name = "TAG")]
        tag: String,
        /// The directory of runtime directories.
        #[arg(long, value_name = "DIR", default_value = "runtimes")]
        runtimes: PathBuf,
    },
    /// Manage runtime-family plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Resolve without installing and write a lock file: for each runtime and platform the
    /// exact version, package URL, sha256 and size, its registry, and the plugins' sha256.
    Lock {
        #[arg(required = true, value_name = "SPEC")]
        specs: Vec<String>,
        /// A platform to lock for (repeatable; default: every platform each runtime offers).
        #[arg(long = "platform", value_name = "P")]
        platforms: Vec<String>,
        /// Where to write it.
        #[arg(short, long, value_name = "FILE", default_value = "jrt.lock")]
        output: PathBuf,
    },
    /// Make this node match a lock file: install what it lists and the node lacks; with
    /// --prune, remove installed versions it does not list.
    Sync {
        #[arg(value_name = "FILE")]
        lock: PathBuf,
        #[arg(long)]
        prune: bool,
        /// How many runtimes to install at once.
        #[arg(long, value_name = "N", default_value_t = 4)]
        jobs: usize,
    },
    /// Installed runtimes with a newer version available within what each was installed with
    /// (`^1.3` stays below 2.0; an exact version never moves).
    Outdated,
    /// Install the newer versions `outdated` lists (all, or the NAMEs); the old versions stay
    /// unless --prune, so jobs that name them keep running.
    Upgrade {
        #[arg(value_name = "NAME")]
        names: Vec<String>,
        /// Remove the older versions of each upgraded runtime once the new one is in place.
        #[arg(long)]
        prune: bool,
        /// How many runtimes to install at once.
        #[arg(long, value_name = "N", default_value_t = 4)]
        jobs: usize,
    },
    /// The download cache: where it is, what it holds, and freeing it.
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// Print a shell's completion script for jrt (bash: `jrt completions bash >
    /// ~/.local/share/bash-completion/completions/jrt`).
    Completions {
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write jrt's man pages (jrt.1 and one per command) into DIR.
    #[command(hide = true)]
    Man {
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum CacheCommand {
    /// Print the cache directory.
    Dir,
    /// What each part of the cache holds.
    Size,
    /// Remove what no installed runtime needs: packages and layers no install came from,
    /// builds no installed runtime's setup fetched, unfinished downloads, compiled plugin
    /// code for another engine or a plugin no longer present.
    Prune {
        /// Only what was last touched more than DAYS days ago.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u64>,
    },
    /// Remove everything cached (the registry serials that stop rollbacks stay).
    Clean,
}

#[derive(Subcommand, Debug)]
pub enum PluginCommand {
    /// List the built-in and added plugins with their API version.
    List,
    /// Check a plugin component (.wasm, a file or an https URL) and add it, pinned by sha256.
    Add {
        /// The component file or https URL.
        file: String,
        /// Refuse the component unless its sha256 is this (hex).
        #[arg(long, value_name = "HEX")]
        sha256: Option<String>,
        /// Let a plugin named like a built-in one replace it.
        #[arg(long)]
        replace_builtin: bool,
    },
    /// Remove an added plugin (a built-in one it replaced is in effect again).
    Remove {
        /// The plugin's name, as `jrt plugin list` shows it.
        name: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RegistryCommand {
    /// Add built packages to a registry.json (published versions never change bytes).
    Add {
        #[arg(required = true, value_name = "PKG")]
        packages: Vec<PathBuf>,
        /// The registry.json to update (created when missing).
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
        /// Where the packages will be downloaded from; each URL is BASE/<file name>.
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// Replace the bytes of an already published version.
        #[arg(long)]
        force: bool,
    },
    /// Sign a registry.json with a minisign secret key, writing <index>.minisig.
    Sign {
        /// The minisign secret key file; an encrypted key's password comes from
        /// JRT_SIGNING_PASSWORD.
        #[arg(long, value_name = "K")]
        key: PathBuf,
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
        /// Set `expires` this many days ahead (and bump `serial`) before signing, so a
        /// client refuses this registry once it is stale.
        #[arg(long, value_name = "DAYS", default_value_t = 90)]
        expires_in_days: u32,
    },
    /// Check <index>.minisig against --public-key, and the index's expiry.
    Verify {
        #[arg(long, value_name = "FILE")]
        index: PathBuf,
    },
}
