//! Installing one resolved runtime, atomically (SPEC §3).
//!
//! Under the runtime's lock: stale staging from a killed run is removed; the package streams
//! through verification into a fresh staging directory on the root's filesystem; the receipt
//! is written and synced; then one rename puts the tree at `<root>/<name>/<version>`, and the
//! parent directory is synced so the rename is durable.
//!
//! File data is not forced to disk one file at a time (thousands of fsyncs), nor started
//! early per file, nor with a filesystem-wide `syncfs` (which also waits for every other
//! program's dirty data): it reaches the disk with the kernel's periodic writeback, as tar's
//! and uv's does (the extractor says why). Should the machine lose power in the moments
//! after an install, files whose data had not reached the disk fail
//! their receipt hashes: `jrt verify` names them and `jrt install` refuses to call that
//! install done until it is reinstalled with `--force`.
//! Until that rename nothing is visible at the final path, and on any error the staging
//! directory is removed. `--force` swaps the new tree in with `RENAME_EXCHANGE`, so the old
//! install stays in place until the new one is.
//!
//! A source package is set up on the way ([`source`]): the family plugins plan, [`setup`]
//! checks each plan whole and executes it in the staging tree with every program confined,
//! from the host [`facts`] the plugins decided on. This crate is where plans touch the disk,
//! the network and processes; it parses no command line and prints nothing.

pub mod facts;
pub mod layout;
pub mod receipt;
pub mod setup;
pub mod source;

use jrt_fs::cache::Cache;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use jrt_client::fetch::{self, FetchError, Store};
use jrt_client::http::{Http, HttpError};
use jrt_client::pin::{Checksum, Size};
use jrt_client::progress::Progress;
use jrt_extract::{ExtractError, Extracted, Limits};
use jrt_fs::lock;
use jrt_registry::Resolved;
use jrt_registry::source::Registry;
pub use layout::Layout;
use receipt::{Drift, Receipt};
use std::sync::OnceLock;

/// Why an install failed. Nothing is left at the final path in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "cannot write to the runtime root {}: {source}; choose another with --root or JRT_ROOT",
        root.display()
    )]
    RootNotWritable { root: PathBuf, source: io::Error },
    #[error("{name}@{version}: {source}")]
    Fetch {
        name: String,
        version: String,
        source: Box<FetchError>,
    },
    #[error("{name}@{version}: {source}")]
    Extract {
        name: String,
        version: String,
        source: ExtractError,
    },
    #[error(
        "{name}@{version} is a source package (no runtime.yml at its top); setting it up needs \
         the family plugins, which this command was not given. Nothing was installed"
    )]
    NeedsSetup { name: String, version: String },
    #[error("{name}@{version}: setup failed: {reason}. Nothing was installed")]
    Setup {
        name: String,
        version: String,
        reason: Box<source::SetUpError>,
    },
    #[error(
        "{name}@{version} is installed at {} but differs from its receipt ({}); reinstall with --force",
        dir.display(), drift_summary(.drift)
    )]
    Modified {
        name: String,
        version: String,
        dir: PathBuf,
        drift: Box<Drift>,
    },
    #[error("{name}@{version}: {source}")]
    Url {
        name: String,
        version: String,
        source: jrt_registry::source::UrlError,
    },
    #[error("{name}@{version}: {source}")]
    Oci {
        name: String,
        version: String,
        source: Box<jrt_oci::OciError>,
    },
    #[error("{name}@{version}: {message}")]
    Registry {
        name: String,
        version: String,
        message: String,
    },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// A failure while getting a package's bytes into staging, before the runtime's name is
/// attached ([`Failure::about`]).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    Fetch(FetchError),
    #[error(transparent)]
    Extract(ExtractError),
    #[error(transparent)]
    Oci(jrt_oci::OciError),
    #[error("{0}")]
    Registry(String),
    #[error(transparent)]
    Io(jrt_fs::IoError),
}

impl From<FetchError> for Failure {
    fn from(e: FetchError) -> Self {
        Failure::Fetch(e)
    }
}

impl From<jrt_oci::OciError> for Failure {
    fn from(e: jrt_oci::OciError) -> Self {
        Failure::Oci(e)
    }
}

impl From<jrt_fs::IoError> for Failure {
    fn from(e: jrt_fs::IoError) -> Self {
        Failure::Io(e)
    }
}

impl Failure {
    fn about(self, name: &str, version: &str) -> InstallError {
        let (name, version) = (name.to_string(), version.to_string());
        match self {
            Failure::Fetch(e) => InstallError::Fetch {
                name,
                version,
                source: Box::new(e),
            },
            Failure::Extract(source) => InstallError::Extract {
                name,
                version,
                source,
            },
            Failure::Oci(e) => InstallError::Oci {
                name,
                version,
                source: Box::new(e),
            },
            Failure::Registry(message) => InstallError::Registry {
                name,
                version,
                message,
            },
            Failure::Io(e) => InstallError::Io(e),
        }
    }
}

fn drift_summary(d: &Drift) -> String {
    format!(
        "{} modified, {} missing, {} extra",
        d.modified.len(),
        d.missing.len(),
        d.extra.len()
    )
}

/// What an install did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub name: String,
    pub version: String,
    pub path: PathBuf,
    /// `installed`, `reinstalled` or `already-installed`.
    pub action: &'static str,
    /// `prebuilt` (extracted only) or `source` (set up by the family plugins).
    pub package_kind: String,
    pub url: String,
    pub checksum: String,
    /// Bytes of the package (of its layers, for an OCI artifact, whose checksum is its
    /// manifest's).
    pub size: u64,
    /// Whether the package came from the cache.
    pub cached: bool,
    /// The registry the package was resolved in.
    pub registry: String,
    /// How long the install took, from resolved to in place.
    pub seconds: f64,
    /// Worth telling the user: a sandbox limit the machine could not enforce, setuid bits
    /// stripped from what a setup made.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Settings shared by every install.
#[derive(Debug)]
pub struct Installer {
    pub layout: Layout,
    /// The cache: its packages, and the builds setup plans fetch.
    pub cache: Cache,
    pub packages: Store,
    pub offline: bool,
    pub limits: Limits,
    pub http_policy: jrt_client::http::Policy,
    http: OnceLock<Result<Http, HttpError>>,
    /// Mirrors of OCI registries, by registry host (config.yaml's `oci_mirrors`).
    pub oci_mirrors: std::collections::BTreeMap<String, Vec<url::Url>>,
    /// Blobs larger than this are pushed in chunks of this size.
    pub oci_chunk_size: u64,
    oci: OnceLock<Result<jrt_oci::Client, String>>,
    /// Where download progress goes.
    pub progress: std::sync::Arc<dyn Progress>,
}

impl Installer {
    pub fn new(root: &Path, cache: &Path, offline: bool) -> Self {
        let cache = Cache::new(cache);
        Installer {
            layout: Layout::new(root),
            packages: Store::packages(&cache),
            cache,
            offline,
            limits: Limits::default(),
            http_policy: jrt_client::http::Policy::default(),
            http: OnceLock::new(),
            oci_mirrors: Default::default(),
            oci_chunk_size: 64 << 20,
            oci: OnceLock::new(),
            progress: std::sync::Arc::new(jrt_client::progress::Silent),
        }
    }

    /// The HTTP client, made on first use (it starts a thread).
    pub fn http(&self) -> Result<&Http, HttpError> {
        self.http
            .get_or_init(|| Http::new(self.http_policy))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Creates the bookkeeping directories; fails early on a read-only root, before
    /// anything is downloaded.
    pub fn prepare(&self) -> Result<(), InstallError> {
        for dir in [
            self.layout.locks(),
            self.layout.staging(),
            self.layout.trash(),
        ] {
            std::fs::create_dir_all(&dir).map_err(|source| InstallError::RootNotWritable {
                root: self.layout.root().to_path_buf(),
                source,
            })?;
        }
        // Directories may exist on a root that is now read-only: prove we can write.
        tempfile::tempfile_in(self.layout.staging()).map_err(|source| {
            InstallError::RootNotWritable {
                root: self.layout.root().to_path_buf(),
                source,
            }
        })?;
        Ok(())
    }

    /// Installs `resolved` (from `registry`) for `platform`.
    pub fn install(
        &self,
        registry: &Registry,
        resolved: &Resolved,
        platform: &str,
        force: bool,
        setup: Option<&dyn source::ProvideSetup>,
    ) -> Result<Outcome, InstallError> {
        self.prepare()?;
        let name = resolved.name.clone();
        let version = resolved.version.to_string();
        let (download_url, checksum, size) = resolved.package();
        let url = registry
            .resolve_url(download_url)
            .map_err(|source| InstallError::Url {
                name: name.clone(),
                version: version.clone(),
                source,
            })?;
        // A package with runtime.yml at its top is prebuilt whatever the index says; an
        // upstream-style entry (no `artifacts`) may point at one.
        let started = std::time::Instant::now();
        let outcome = |action, cached, kind: &str| Outcome {
            name: name.clone(),
            version: version.clone(),
            path: self.layout.install_dir(&name, &version),
            action,
            package_kind: kind.to_string(),
            url: url.to_string(),
            checksum: checksum.to_string(),
            size,
            cached,
            registry: registry.source.display(),
            seconds: started.elapsed().as_secs_f64(),
            notes: Vec::new(),
        };

        // Shared with other installs; `jrt cache prune` waits for it (and installs for prune).
        let cache_lock = self.cache.lock_path();
        std::fs::create_dir_all(self.cache.root())
            .map_err(jrt_fs::io("cannot create", self.cache.root()))?;
        let _cache = lock::shared(&cache_lock).map_err(jrt_fs::io("cannot lock", &cache_lock))?;
        let lock_path = self.layout.lock_file(&name, &version);
        let _lock = lock::exclusive(&lock_path).map_err(jrt_fs::io("cannot lock", &lock_path))?;
        let final_dir = self.layout.install_dir(&name, &version);
        let existing = final_dir.exists();
        if existing && !force {
            let receipt_path = layout::receipt_path(&final_dir);
            if let Ok(receipt) = Receipt::read(&receipt_path) {
                let drift = receipt.verify(&final_dir);
                if drift.is_clean() {
                    return Ok(outcome("already-installed", true, &receipt.package_kind));
                }
                return Err(InstallError::Modified {
                    name,
                    version,
                    dir: final_dir,
                    drift: Box::new(drift),
                });
            }
        }
        self.clean_stale_staging(&name, &version);

        let staging = tempfile::Builder::new()
            .prefix(&format!("{name}@{version}."))
            .tempdir_in(self.layout.staging())
            .map_err(jrt_fs::io(
                "cannot create staging in",
                &self.layout.staging(),
            ))?;
        let tree = staging.path().join("tree");
        std::fs::create_dir(&tree).map_err(jrt_fs::io("cannot create", &tree))?;

        let label = format!("{name}@{version}");
        // For an OCI artifact, `size` is its manifest's; what was unpacked is its layers.
        let (extracted, downloaded, mut cache_entries, unpacked_size) = if url.scheme() == "oci" {
            self.unpack_oci(&url, checksum, platform, &tree, &label)
        } else {
            self.unpack(&url, checksum, size, &tree, &label)
                .map(|(x, got)| (x, got, vec![checksum.hex()], size))
        }
        .map_err(|e| e.about(&name, &version))?;
        let to_cache = downloaded;

        let mut notes = Vec::new();
        let mut inferred_family = Vec::new();
        let (package_kind, plugins, files) = if tree.join("runtime.yml").is_file() {
            // Joblet trusts runtime.yml to build job roots: check it before it is placed.
            jrt_package::runtime_yml::RuntimeYml::read(&tree).map_err(|e| InstallError::Setup {
                name: name.clone(),
                version: version.clone(),
                reason: Box::new(source::SetUpError::PrebuiltRuntimeYml(e)),
            })?;
            ("prebuilt", Vec::new(), extracted.records)
        } else {
            let Some(setup) = setup else {
                return Err(InstallError::NeedsSetup { name, version });
            };
            let setup_err = |reason: source::SetUpError| InstallError::Setup {
                name: name.clone(),
                version: version.clone(),
                reason: Box::new(reason),
            };
            let env = setup.setup_env().map_err(setup_err)?;
            // Plans fetch from the network even when the package itself was local.
            let setup_http = if self.offline {
                None
            } else {
                Some(self.http().map_err(|e| setup_err(e.into()))?)
            };
            let done = source::set_up(env, &tree, &self.cache, setup_http, self.progress.as_ref())
                .map_err(setup_err)?;
            notes = done.notes;
            inferred_family = done.inferred_family;
            cache_entries.extend(done.fetched);
            let used = done.plugins;
            let files = receipt::scan(&tree).map_err(|e| setup_err(source::SetUpError::Scan(e)))?;
            // What setup made must not reach outside the tree either, through any chain of
            // symlinks.
            jrt_extract::check_links_resolve(
                &tree,
                files.iter().filter_map(|r| match r.kind {
                    jrt_extract::Kind::Symlink { .. } => Some(r.path.as_str()),
                    _ => None,
                }),
            )
            .map_err(|e| setup_err(e.into()))?;
            ("source", used, files)
        };

        let receipt = Receipt {
            receipt_version: receipt::VERSION,
            name: name.clone(),
            version: version.clone(),
            registry: registry.source.display(),
            requested: Some(resolved.requested.clone()),
            url: url.to_string(),
            checksum: checksum.to_string(),
            size,
            platform: platform.to_string(),
            package_kind: package_kind.into(),
            plugins,
            inferred_family,
            cache_entries,
            installed_at: jrt_fs::time::now_unix(),
            jrt_version: env!("CARGO_PKG_VERSION").into(),
            files,
        };
        let receipt_path = layout::receipt_path(&tree);
        let receipt_dir = tree.join(".jrt");
        std::fs::create_dir_all(&receipt_dir).map_err(jrt_fs::io("cannot create", &receipt_dir))?;
        let json = serde_json::to_vec_pretty(&receipt).unwrap_or_default();
        write_synced(&receipt_path, &json).map_err(jrt_fs::io("cannot write", &receipt_path))?;
        let parent = self.layout.runtime_dir(&name);
        std::fs::create_dir_all(&parent).map_err(jrt_fs::io("cannot create", &parent))?;
        if existing {
            // Swap atomically; the old tree ends up in staging and goes with it.
            exchange(&tree, &final_dir).map_err(jrt_fs::io("cannot replace", &final_dir))?;
        } else {
            std::fs::rename(&tree, &final_dir)
                .map_err(jrt_fs::io("cannot install to", &final_dir))?;
        }
        jrt_fs::sync_dir(&parent).map_err(jrt_fs::io("cannot sync", &parent))?;
        drop(staging);
        Ok(Outcome {
            notes,
            size: unpacked_size,
            ..outcome(
                if existing { "reinstalled" } else { "installed" },
                !to_cache,
                package_kind,
            )
        })
    }

    /// Downloads (or reads from the cache) one package file and extracts it into `tree`,
    /// verified as it streams. Returns what was extracted and whether anything was
    /// downloaded.
    fn unpack(
        &self,
        url: &url::Url,
        checksum: &Checksum,
        size: u64,
        tree: &Path,
        label: &str,
    ) -> Result<(Extracted, bool), Failure> {
        self.unpack_one(tree, label, size, None, |_| {
            let opened = self.open_url(url, checksum, size)?;
            Ok((opened, url.clone(), checksum.clone()))
        })
    }

    /// Opens the download of a single file at `url` (https, http or file) through the
    /// package cache, for a verified read.
    fn open_url(
        &self,
        url: &url::Url,
        checksum: &Checksum,
        size: u64,
    ) -> Result<fetch::Opened, Failure> {
        let http = if matches!(url.scheme(), "http" | "https") && !self.offline {
            Some(
                self.http()
                    .map_err(|e| Failure::Fetch(FetchError::Http(e)))?,
            )
        } else {
            None
        };
        Ok(fetch::open(
            &self.packages,
            http,
            url,
            checksum,
            Size::Declared(size),
            self.offline,
        )?)
    }

    /// Streams one verified download into `tree`: a whole package or a first layer, or with
    /// `below` (what the layers under it extracted), a later layer applied on top. A cache
    /// entry that no longer verifies (a crash can tear one) was removed by the check; it is
    /// fetched again, once, into a clean tree.
    fn unpack_one(
        &self,
        tree: &Path,
        label: &str,
        size: u64,
        mut below: Option<Extracted>,
        open: impl Fn(bool) -> Result<(fetch::Opened, url::Url, Checksum), Failure>,
    ) -> Result<(Extracted, bool), Failure> {
        let over = below.is_some();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (opened, url, checksum) = open(attempt > 1)?;
            let from_cache = opened.cached;
            let task = self.progress.task(label, size);
            // Extraction runs as the bytes arrive: the bar counts bytes, its message files.
            let files = |n: u64| {
                if n.is_multiple_of(64) {
                    task.message(&format!("{n} files"));
                }
            };
            let extracted = opened.verified(
                url.as_str(),
                Size::Declared(size),
                &checksum,
                task.as_ref(),
                |reader| {
                    if let Some(below) = below.take() {
                        jrt_extract::extract_layer(reader, tree, &self.limits, below, &files)
                    } else {
                        jrt_extract::extract_observed(reader, tree, &self.limits, &files)
                    }
                },
            );
            task.finish(&match &extracted {
                Ok(Ok(x)) => format!("unpacked {} files", x.records.len()),
                _ => "failed".to_string(),
            });
            match extracted {
                Err(_) if from_cache && attempt == 1 && !over => {
                    std::fs::remove_dir_all(tree).map_err(jrt_fs::io("cannot clean", tree))?;
                    std::fs::create_dir(tree).map_err(jrt_fs::io("cannot create", tree))?;
                }
                Err(e) => return Err(Failure::Fetch(e)),
                Ok(Err(e)) => return Err(Failure::Extract(e)),
                Ok(Ok(x)) => return Ok((x, !from_cache)),
            }
        }
    }

    /// The OCI client, made on first use: jrt's HTTP policy, Docker's credentials, and the
    /// configured registry mirrors.
    pub fn oci(&self) -> Result<&jrt_oci::Client, Failure> {
        let made = self.oci.get_or_init(|| {
            let http = self.http().map_err(|e| e.to_string())?.clone();
            let keychain =
                jrt_oci::auth::Keychain::from_environment().map_err(|e| e.to_string())?;
            let mut client = jrt_oci::Client::new(http, keychain, self.oci_mirrors.clone());
            client.chunk_size = self.oci_chunk_size;
            Ok(client)
        });
        made.as_ref().map_err(|m| Failure::Registry(m.clone()))
    }

    /// Downloads a single-file package to `dest` (atomically), verified: from a URL, or from
    /// an OCI artifact (this platform's manifest, which must have exactly one layer: the
    /// package itself). Through the package cache, so a second call reads it from there.
    pub fn download_package(
        &self,
        url: &url::Url,
        checksum: &Checksum,
        size: u64,
        platform: &str,
        dest: &Path,
    ) -> Result<(), Failure> {
        let (opened, from, checksum, size) = if url.scheme() == "oci" {
            let (loc, _, layers) = self.oci_manifest(url, checksum, platform)?;
            let [layer] = layers.as_slice() else {
                return Err(Failure::Registry(format!(
                    "{loc} has {} layers, not the one of a single-file package",
                    layers.len()
                )));
            };
            let repo = loc.repository();
            let (opened, blob) =
                self.oci()?
                    .open_blob(&self.packages, &repo, layer, self.offline)?;
            (opened, blob, layer.digest.0.clone(), layer.size)
        } else {
            let opened = self.open_url(url, checksum, size)?;
            (opened, url.clone(), checksum.clone(), size)
        };
        let dir = dest.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".jrt-download-")
            .tempfile_in(dir)
            .map_err(jrt_fs::io("cannot create a temporary file in", dir))?;
        let task = self.progress.task(from.as_str(), size);
        let copied = opened.verified(
            from.as_str(),
            Size::Declared(size),
            &checksum,
            task.as_ref(),
            |reader| io::copy(reader, tmp.as_file_mut()),
        )?;
        copied.map_err(jrt_fs::io("cannot write", dest))?;
        tmp.persist(dest)
            .map_err(|e| jrt_fs::io("cannot rename into", dest)(e.error))?;
        Ok(())
    }

    /// The jrt manifest of the OCI artifact `url` (`oci://HOST/REPO@sha256:…`, the digest
    /// being the entry's checksum): the artifact itself, or from an index this platform's;
    /// checked, with its layers bottom first.
    fn oci_manifest(
        &self,
        url: &url::Url,
        checksum: &Checksum,
        platform: &str,
    ) -> Result<
        (
            jrt_oci::Location,
            jrt_oci::model::Manifest,
            Vec<jrt_oci::model::Descriptor>,
        ),
        Failure,
    > {
        use jrt_oci::model::Document;
        let loc = jrt_oci::Location::parse(url.as_str()).map_err(jrt_oci::OciError::from)?;
        match &loc.reference {
            Some(jrt_oci::Reference::Digest(d)) if d.0 == *checksum => {}
            _ => {
                return Err(Failure::Registry(format!(
                    "{url} is not pinned by the digest {checksum} its entry gives: an OCI \
                     package is named oci://HOST/REPO@<its checksum>"
                )));
            }
        }
        if self.offline {
            return Err(Failure::Fetch(FetchError::Offline {
                url: url.to_string(),
            }));
        }
        let client = self.oci()?;
        let fetched = client.manifest(&loc)?.ok_or_else(|| {
            Failure::Registry(format!("{loc}: the registry has no such manifest"))
        })?;
        let manifest = match fetched.document {
            Document::Manifest(m) => m,
            Document::Index(index) => {
                let offered: Vec<String> = index
                    .manifests
                    .iter()
                    .filter_map(|d| jrt_oci::layout::platform_of(d).map(String::from))
                    .collect();
                let chosen = index
                    .manifests
                    .iter()
                    .find(|d| jrt_oci::layout::platform_of(d) == Some(platform))
                    .ok_or_else(|| {
                        Failure::Registry(format!(
                            "{loc} has no package for platform {platform}; platforms offered: {}",
                            if offered.is_empty() {
                                "none".into()
                            } else {
                                offered.join(", ")
                            }
                        ))
                    })?;
                let at = loc.at(jrt_oci::Reference::Digest(chosen.digest.clone()));
                match client.manifest(&at)?.map(|f| f.document) {
                    Some(Document::Manifest(m)) => m,
                    _ => {
                        return Err(Failure::Registry(format!(
                            "{at}: the index's entry for {platform} is not an image manifest"
                        )));
                    }
                }
            }
        };
        let layers = jrt_oci::layout::check_manifest(&manifest)
            .map_err(|m| Failure::Registry(format!("{loc}: {m}")))?;
        Ok((loc, manifest, layers))
    }

    /// The manifest.yaml of an OCI source package (`oci://HOST/REPO@sha256:…`), read from its
    /// config blob: a dry run shows its setup plan without downloading the package.
    pub fn manifest_of_oci(
        &self,
        url: &url::Url,
        checksum: &Checksum,
    ) -> Result<jrt_package::manifest::Manifest, Failure> {
        // A source package's entry names its manifest itself: no platform is chosen.
        let (loc, manifest, _) = self.oci_manifest(url, checksum, "source")?;
        let client = self.oci()?;
        let repo = loc.repository();
        let bytes =
            client.blob_bytes(&repo, &manifest.config, jrt_oci::layout::MAX_CONFIG_BYTES)?;
        let config: jrt_oci::layout::Config = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::Registry(format!("{loc}: its config is not jrt's: {e}")))?;
        jrt_package::manifest::Manifest::parse(
            config.manifest_yaml.as_bytes(),
            std::path::Path::new("manifest.yaml"),
        )
        .map_err(|e| Failure::Registry(format!("{loc}: {e}")))
    }

    /// Installs an OCI artifact pinned by digest (`oci://HOST/REPO@sha256:…`, the digest
    /// being the entry's checksum): its manifest (this platform's, when it is an index),
    /// then each layer in order, each verified by its digest; a layer already in the cache
    /// is read from there.
    fn unpack_oci(
        &self,
        url: &url::Url,
        checksum: &Checksum,
        platform: &str,
        tree: &Path,
        label: &str,
    ) -> Result<(Extracted, bool, Vec<String>, u64), Failure> {
        let (loc, _, layers) = self.oci_manifest(url, checksum, platform)?;
        let client = self.oci()?;
        let repo = loc.repository();
        let mut all: Option<Extracted> = None;
        let mut downloaded = false;
        for layer in &layers {
            let (x, got) = self.unpack_one(tree, label, layer.size, all.take(), |_| {
                let (opened, blob) =
                    client.open_blob(&self.packages, &repo, layer, self.offline)?;
                Ok((opened, blob, layer.digest.0.clone()))
            })?;
            downloaded |= got;
            all = Some(x);
        }
        let entries = layers.iter().map(|l| l.digest.hex()).collect();
        let bytes = layers.iter().map(|l| l.size).sum();
        all.map(|x| (x, downloaded, entries, bytes))
            .ok_or_else(|| Failure::Registry(format!("{loc}: the manifest lists no layer")))
    }

    /// Removes staging directories of this runtime left by a killed run. Safe because the
    /// caller holds the runtime's lock, so no live install owns them.
    fn clean_stale_staging(&self, name: &str, version: &str) {
        let prefix = format!("{name}@{version}.");
        let Ok(entries) = std::fs::read_dir(self.layout.staging()) else {
            return;
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// Writes a file and waits until its data is on disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Atomically exchanges two paths (`renameat2(RENAME_EXCHANGE)`).
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let ca = CString::new(a.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let cb = CString::new(b.as_os_str().as_bytes()).map_err(io::Error::other)?;
    // SAFETY: valid NUL-terminated paths, AT_FDCWD.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
