//! `jrt build`: a runtime directory becomes `<name>-<version>.tar.gz` (the source package), or
//! with `--prebuilt` `<name>-<version>-<platform>.tar.gz` made by running the family plugins'
//! setup into a staging tree, with that tree's versions.lock beside it.
//!
//! Both are byte-reproducible: entries sorted, times, owners and modes fixed, no gzip
//! timestamp (see [`jrt_package::pack`]); the setup itself writes no timestamps (bytecode is
//! hash-checked, the lock and runtime.yml carry none). Packages are written to a temporary
//! name in the output directory and renamed into place.

use jrt_fs::cache::Cache;
use std::path::{Path, PathBuf};

use serde::Serialize;

use jrt_client::http::Http;
use jrt_install::source::{SetupEnv, set_up};
use jrt_package::manifest::Manifest;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Manifest(#[from] jrt_package::manifest::ManifestError),
    #[error("{}: the manifest names '{name}', but the directory is '{dir_name}'; they must agree", dir.display())]
    NameMismatch {
        dir: PathBuf,
        name: String,
        dir_name: String,
    },
    #[error("{name}@{version} does not list the platform {platform} (it lists {})", listed.join(", "))]
    Platform {
        name: String,
        version: String,
        platform: String,
        listed: Vec<String>,
    },
    #[error("{name}@{version}: setup failed: {reason}")]
    Setup {
        name: String,
        version: String,
        reason: Box<jrt_install::source::SetUpError>,
    },
    #[error("its base {base}: {message}")]
    Base { base: String, message: String },
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// One package written.
#[derive(Debug, Clone, Serialize)]
pub struct Built {
    pub name: String,
    pub version: String,
    /// Set for prebuilt packages.
    pub platform: Option<String>,
    pub path: PathBuf,
    pub sha256: String,
    pub size: u64,
    /// The prebuilt tree's versions.lock, copied beside the package.
    pub versions_lock: Option<PathBuf>,
    /// For a runtime with a `base`: its `.layers.json` (the base's package, then this
    /// runtime's own layer), for `jrt push`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layers: Option<PathBuf>,
    /// The size of this runtime's own layer, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_size: Option<u64>,
}

/// Reads the runtime directory's manifest and checks its name against the directory's.
pub fn manifest_of(dir: &Path) -> Result<Manifest, BuildError> {
    let manifest = Manifest::read_dir(dir)?;
    let dir_name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    if manifest.name != dir_name {
        return Err(BuildError::NameMismatch {
            dir: dir.to_path_buf(),
            name: manifest.name,
            dir_name,
        });
    }
    Ok(manifest)
}

/// Packs `tree` as `<out>/<file>` through a temporary file, returning its sha256 and size.
pub(crate) fn write_package(
    out: &Path,
    file: &str,
    pack: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(PathBuf, String, u64), BuildError> {
    std::fs::create_dir_all(out).map_err(jrt_fs::io("cannot create", out))?;
    let dest = out.join(file);
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{file}."))
        .tempfile_in(out)
        .map_err(jrt_fs::io("cannot create a temporary file in", out))?;
    pack(tmp.as_file_mut()).map_err(jrt_fs::io("cannot write", &dest))?;
    // Packages are published: readable by the web server, not just by whoever built them.
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(jrt_fs::io("cannot write", &dest))?;
    }
    tmp.as_file()
        .sync_all()
        .map_err(jrt_fs::io("cannot write", &dest))?;
    tmp.persist(&dest)
        .map_err(|e| jrt_fs::io("cannot rename into", &dest)(e.error))?;
    // Streamed: prebuilt packages can be gigabytes.
    let (sha256, size) = jrt_fs::sha256_file(&dest).map_err(jrt_fs::io("cannot read", &dest))?;
    Ok((dest, sha256, size))
}

/// The source package of the runtime in `dir`.
pub fn source(dir: &Path, out: &Path) -> Result<Built, BuildError> {
    let manifest = manifest_of(dir)?;
    let file = format!("{}-{}.tar.gz", manifest.name, manifest.version);
    let (path, sha256, size) =
        write_package(out, &file, |f| jrt_package::pack::pack(dir, &manifest, f))?;
    Ok(Built {
        name: manifest.name,
        version: manifest.version,
        platform: None,
        path,
        sha256,
        size,
        versions_lock: None,
        layers: None,
        layer_size: None,
    })
}

/// The prebuilt package of the runtime in `dir` for `env.platform`: the source package is
/// extracted into a staging tree in `out`, set up there by the family plugins exactly as an
/// install would, and packed without jrt's own `.jrt/` files.
pub fn prebuilt(
    dir: &Path,
    out: &Path,
    env: &SetupEnv,
    cache: &Cache,
    http: Option<&Http>,
    progress: &dyn jrt_client::progress::Progress,
) -> Result<Built, BuildError> {
    let manifest = manifest_of(dir)?;
    let platform = env.platform.id.clone();
    if !manifest.platforms.contains(&platform) {
        return Err(BuildError::Platform {
            name: manifest.name,
            version: manifest.version,
            platform,
            listed: manifest.platforms,
        });
    }
    std::fs::create_dir_all(out).map_err(jrt_fs::io("cannot create", out))?;
    let staging = tempfile::Builder::new()
        .prefix(".jrt-build-")
        .tempdir_in(out)
        .map_err(jrt_fs::io("cannot create a staging directory in", out))?;
    let mut source = Vec::new();
    jrt_package::pack::pack(dir, &manifest, &mut source).map_err(jrt_fs::io("cannot pack", dir))?;
    // The extractor strips the package's top directory: the staging directory is the tree.
    jrt_extract::extract(
        source.as_slice(),
        staging.path(),
        &jrt_extract::Limits::default(),
    )
    .map_err(|e| BuildError::Setup {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        reason: Box::new(e.into()),
    })?;
    let tree = staging.path();
    set_up(env, tree, cache, http, progress).map_err(|reason| BuildError::Setup {
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        reason: Box::new(reason),
    })?;
    let stem = format!("{}-{}-{platform}", manifest.name, manifest.version);
    let (path, sha256, size) = write_package(out, &format!("{stem}.tar.gz"), |f| {
        jrt_package::pack::pack_with(tree, &manifest.name, f, &|rel| {
            rel != ".jrt" && !rel.starts_with(".jrt/")
        })
    })?;
    let lock = out.join(format!("{stem}.versions.lock"));
    let lock_bytes =
        std::fs::read(tree.join("versions.lock")).map_err(jrt_fs::io("cannot read", tree))?;
    jrt_fs::write_atomic(&lock, &lock_bytes).map_err(jrt_fs::io("cannot write", &lock))?;
    let layered = match base_of(&manifest)? {
        None => None,
        Some((base_name, base_version)) => {
            let base = format!("{base_name}@{base_version}");
            let base_package = out.join(format!("{base_name}-{base_version}-{platform}.tar.gz"));
            if !base_package.is_file() {
                return Err(BuildError::Base {
                    base,
                    message: format!(
                        "its prebuilt package {} is not there: build the base first, into the \
                         same --out",
                        base_package.display()
                    ),
                });
            }
            Some(crate::layers::write(
                tree,
                &crate::layers::Target {
                    name: &manifest.name,
                    version: &manifest.version,
                    platform: &platform,
                    stem: &stem,
                },
                &base,
                &base_package,
                out,
            )?)
        }
    };
    Ok(Built {
        name: manifest.name,
        version: manifest.version,
        platform: Some(platform),
        path,
        sha256,
        size,
        versions_lock: Some(lock),
        layer_size: layered.as_ref().map(|(_, size)| *size),
        layers: layered.map(|(path, _)| path),
    })
}

/// The manifest's `base: NAME@VERSION`, checked.
pub fn base_of(manifest: &Manifest) -> Result<Option<(String, String)>, BuildError> {
    let Some((_, value)) = manifest.fields.iter().find(|(k, _)| k == "base") else {
        return Ok(None);
    };
    let text = value.as_str().unwrap_or_default();
    crate::layers::parse_base(text)
        .map(Some)
        .ok_or_else(|| BuildError::Base {
            base: jrt_input::display::one_line(text).into_owned(),
            message: "`base` must be NAME@VERSION, an exact version (such as python-3.11@1.3.4)"
                .into(),
        })
}
