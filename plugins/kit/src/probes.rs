//! Reading probe outputs and manifest fields, shared by the families' version capture.

use crate::types::{FieldValue, Manifest, PluginError, ProbeOutput};

/// The probe named `name`, which must have run and exited 0.
pub fn probe<'a>(probes: &'a [ProbeOutput], name: &str) -> Result<&'a ProbeOutput, PluginError> {
    let p = probes
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PluginError::InvalidInput(format!("the probe '{name}' did not run")))?;
    if p.exit_code != Some(0) {
        return Err(PluginError::InvalidInput(format!(
            "the probe '{name}' failed ({}): {}",
            p.exit_code
                .map_or("killed".to_string(), |c| format!("exit {c}")),
            p.stderr.trim()
        )));
    }
    Ok(p)
}

/// What a probe printed: stdout, or stderr when stdout is empty (`java -version`).
pub fn text(p: &ProbeOutput) -> &str {
    if p.stdout.trim().is_empty() {
        &p.stderr
    } else {
        &p.stdout
    }
}

/// A text field of the manifest.
pub fn field_text<'a>(manifest: &'a Manifest, key: &str) -> Option<&'a str> {
    match crate::manifest::field(manifest, key)? {
        FieldValue::Text(s) => Some(s.as_str()),
        _ => None,
    }
}

/// A list field of the manifest.
pub fn field_list<'a>(manifest: &'a Manifest, key: &str) -> Vec<&'a str> {
    match crate::manifest::field(manifest, key) {
        Some(FieldValue::TextList(items)) => items.iter().map(String::as_str).collect(),
        Some(FieldValue::Text(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}
