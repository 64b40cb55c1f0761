//! A runtime's manifest as plugins receive it: the WIT `manifest` record.

use jrt_package::manifest::Manifest;
use serde_norway::Value;

use super::types;

/// The manifest as plugins receive it (WIT `manifest`): scalars, lists and maps of scalars
/// keep their type; anything deeper is passed as YAML text.
pub fn to_wit(manifest: &Manifest) -> types::Manifest {
    use types::{FieldValue, Manifest as Wit, ManifestField};
    let scalar = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    };
    let fields = manifest
        .fields
        .iter()
        .map(|(key, v)| {
            let value = match v {
                Value::String(s) => FieldValue::Text(s.clone()),
                Value::Bool(b) => FieldValue::Boolean(*b),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => FieldValue::Integer(i),
                    None => FieldValue::Float(n.as_f64().unwrap_or(0.0)),
                },
                Value::Sequence(items) if items.iter().all(|i| scalar(i).is_some()) => {
                    FieldValue::TextList(items.iter().filter_map(scalar).collect())
                }
                Value::Mapping(m)
                    if m.iter()
                        .all(|(k, v)| scalar(k).is_some() && scalar(v).is_some()) =>
                {
                    FieldValue::TextMap(
                        m.iter()
                            .filter_map(|(k, v)| Some((scalar(k)?, scalar(v)?)))
                            .collect(),
                    )
                }
                other => FieldValue::Text(serde_norway::to_string(other).unwrap_or_default()),
            };
            ManifestField {
                key: key.clone(),
                value,
            }
        })
        .collect();
    Wit {
        source: manifest.path.display().to_string(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        description: manifest.description.clone(),
        families: manifest.family.clone(),
        platforms: manifest.platforms.clone(),
        fields,
    }
}
