//! Runtime manifests (`runtimes/<name>/manifest.yaml`): the upstream fields (`name`,
//! `version`, `description`, `platforms`, family-specific keys such as `python_version` or
//! `packages`) plus jrt's `family`. The host reads the common fields; every other top-level
//! key is kept for the family plugins.
//!
//! Upstream's manifests (Joblet's official registry) name no `family`: it is inferred from
//! their fields ([`infer_family`]), and the manifest says so ([`Manifest::family_inferred`]).

use std::path::{Path, PathBuf};

use serde_norway::Value;

/// Whether `name` matches `^[a-z0-9][a-z0-9.-]*$`.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

/// A manifest that cannot be used, naming the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("{}: {field}: {message}", path.display())]
pub struct ManifestError {
    pub path: PathBuf,
    pub field: String,
    pub message: String,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub path: PathBuf,
    pub name: String,
    pub version: String,
    pub description: String,
    pub platforms: Vec<String>,
    /// The runtime families in setup order (`[python, cuda]`); inferred from upstream's fields
    /// when not declared; empty when neither says.
    pub family: Vec<String>,
    /// Whether `family` was inferred (an upstream manifest) rather than declared.
    pub family_inferred: bool,
    /// Every top-level key, in file order, as YAML values.
    pub fields: Vec<(String, Value)>,
}

impl Manifest {
    /// Reads `<dir>/manifest.yaml`.
    pub fn read_dir(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join("manifest.yaml");
        let bytes = std::fs::read(&path).map_err(|e| ManifestError {
            path: path.clone(),
            field: "(file)".into(),
            message: e.to_string(),
        })?;
        Manifest::parse(&bytes, &path)
    }

    pub fn parse(bytes: &[u8], path: &Path) -> Result<Manifest, ManifestError> {
        let err = |field: &str, message: String| ManifestError {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        jrt_input::caps::size(bytes, jrt_input::caps::MAX_YAML_BYTES)
            .map_err(|e| err("(file)", e.to_string()))?;
        let value: Value = serde_norway::from_slice(bytes)
            .map_err(|e| err("(file)", format!("not valid YAML: {e}")))?;
        jrt_input::caps::yaml_depth(&value).map_err(|e| err("(file)", e.to_string()))?;
        let Value::Mapping(map) = value else {
            return Err(err("(file)", "is not a mapping of fields".into()));
        };
        let mut fields = Vec::new();
        for (k, v) in map {
            let Value::String(key) = k else {
                return Err(err("(file)", "has a key that is not a string".into()));
            };
            fields.push((key, v));
        }
        let get = |key: &str| fields.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let text = |key: &str, required: bool| -> Result<String, ManifestError> {
            match get(key) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(_) => Err(err(key, "must be a string".into())),
                None if required => Err(err(key, "is missing".into())),
                None => Ok(String::new()),
            }
        };
        let list = |key: &str| -> Result<Vec<String>, ManifestError> {
            match get(key) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s.clone()]),
                Some(Value::Sequence(items)) => items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        Value::String(s) => Ok(s.clone()),
                        _ => Err(err(&format!("{key}[{i}]"), "must be a string".into())),
                    })
                    .collect(),
                Some(_) => Err(err(key, "must be a list of strings".into())),
            }
        };
        let declared = list("family")?;
        let (family, family_inferred) = if declared.is_empty() {
            let inferred = infer_family(|key| get(key).is_some());
            let any = !inferred.is_empty();
            (inferred, any)
        } else {
            (declared, false)
        };
        let mut manifest = Manifest {
            path: path.to_path_buf(),
            name: text("name", true)?,
            version: text("version", true)?,
            description: text("description", false)?,
            platforms: list("platforms")?,
            family,
            family_inferred,
            fields,
        };
        if manifest.family_inferred {
            // Upstream's scripts used whatever interpreter or JDK the host had; jrt keeps
            // that only for exactly the manifest's version (the plugins check), else it
            // takes the catalog's build. An explicit false stays false.
            for (family, key) in [
                ("python", "allow_host_interpreter"),
                ("jdk", "allow_host_jdk"),
            ] {
                let declared = manifest.fields.iter().any(|(k, _)| k == key);
                if manifest.family.iter().any(|f| f == family) && !declared {
                    manifest.fields.push((key.to_string(), Value::Bool(true)));
                }
            }
        }
        Ok(manifest)
    }
}

/// The families an upstream manifest (one without `family`) is set up by, from the fields
/// upstream's own setup scripts key on: `python_version` is python (with cuda after it when
/// `cuda_version` is there too), `java_version` is jdk (GraalVM when `graalvm_version` is set:
/// the jdk plugin reads that field). Empty when none of them is there.
pub fn infer_family(has: impl Fn(&str) -> bool) -> Vec<String> {
    let mut family = Vec::new();
    if has("python_version") {
        family.push("python".to_string());
        if has("cuda_version") {
            family.push("cuda".to_string());
        }
    } else if has("java_version") {
        family.push("jdk".to_string());
    }
    family
}

impl Manifest {
    /// The note that says an upstream manifest's family was inferred.
    pub fn inferred_note(&self) -> Option<String> {
        if !self.family_inferred {
            return None;
        }
        let plugins: Vec<String> = self
            .family
            .iter()
            .map(|f| format!("the {f} plugin"))
            .collect();
        // Shown after the runtime's `name@version: `, as every install note is.
        Some(format!(
            "upstream manifest, set up by {}; its setup scripts are not run",
            plugins.join(" and ")
        ))
    }
}
