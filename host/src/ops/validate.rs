//! `jrt validate [<runtime-dir>...]`: the manifest schema, and each family plugin's own checks.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Context;
use jrt_package::manifest::Manifest;
use jrt_plugin_host::types::Severity;

/// One problem in one manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub file: PathBuf,
    pub field: String,
    pub message: String,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// Who found it: `jrt` or a plugin's name.
    pub checker: String,
}

/// Checks each runtime directory; returns every problem found (empty: all valid).
pub fn validate(
    ctx: &Context,
    dirs: &[PathBuf],
) -> Result<Vec<Problem>, jrt_plugin_host::PluginError> {
    let plugins = ctx.plugins()?;
    let mut problems = Vec::new();
    for dir in dirs {
        let file = dir.join("manifest.yaml");
        let jrt = |field: &str, message: String| Problem {
            file: file.clone(),
            field: field.to_string(),
            message,
            severity: "error",
            checker: "jrt".into(),
        };
        let manifest = match Manifest::read_dir(dir) {
            Ok(m) => m,
            Err(e) => {
                problems.push(jrt(&e.field, e.message));
                continue;
            }
        };
        let dir_name = dir_name(dir);
        if manifest.name != dir_name {
            problems.push(jrt(
                "name",
                format!(
                    "'{}' differs from its directory name '{dir_name}'",
                    manifest.name
                ),
            ));
        }
        let wit = jrt_plugin_host::to_wit(&manifest);
        if manifest.family.is_empty() {
            problems.push(jrt(
                "family",
                "names no runtime family (such as [python] or [python, cuda])".into(),
            ));
        }
        for family in &manifest.family {
            if let Err(e) = jrt_install::source::granted_network(&manifest, family) {
                problems.push(jrt("setup_network", e.to_string()));
            }
        }
        // The common checks (name, semver, platforms) live in every plugin; run them once
        // through the first family's plugin, or the first plugin when none matches.
        let mut checked_by_a_plugin = false;
        for family in &manifest.family {
            let Some(plugin) = plugins
                .iter()
                .find(|p| p.meta.families.iter().any(|f| f == family))
            else {
                let known: Vec<String> = plugins
                    .iter()
                    .flat_map(|p| p.meta.families.clone())
                    .collect();
                problems.push(jrt(
                    "family",
                    format!(
                        "no plugin serves the family '{family}' (plugins serve: {})",
                        known.join(", ")
                    ),
                ));
                continue;
            };
            checked_by_a_plugin = true;
            for d in ctx.host.validate_manifest(plugin, &wit)? {
                let problem = Problem {
                    file: file.clone(),
                    field: d.field,
                    message: d.message,
                    severity: match d.severity {
                        Severity::Error => "error",
                        Severity::Warning => "warning",
                    },
                    checker: plugin.meta.name.clone(),
                };
                // Several families repeat the shared checks; report each finding once.
                if !problems.iter().any(|p: &Problem| {
                    p.file == problem.file
                        && p.field == problem.field
                        && p.message == problem.message
                }) {
                    problems.push(problem);
                }
            }
        }
        if !checked_by_a_plugin && let Some(plugin) = plugins.first() {
            for d in ctx.host.validate_manifest(plugin, &wit)? {
                if d.field != "family" {
                    problems.push(jrt(&d.field, d.message));
                }
            }
        }
    }
    Ok(problems)
}

fn dir_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .or_else(|| dir.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default()
}
