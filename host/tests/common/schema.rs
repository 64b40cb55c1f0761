//! The part of JSON Schema that docs/cli.md uses, checked strictly: `type` (one or a list),
//! `properties` with `required`, `additionalProperties` (false, or a schema for map values),
//! `items`, `enum`, `anyOf`, and `$ref` to `#/$defs/NAME` in one shared set of definitions.
//! An object may hold only the properties its schema names (unless `additionalProperties`
//! says otherwise), so a field added to the output without a line in the docs fails.
#![allow(dead_code)]

use serde_json::{Map, Value};

/// Checks `value` against `schema`; the errors name the JSON path of each mismatch.
pub fn check(value: &Value, schema: &Value, defs: &Map<String, Value>) -> Vec<String> {
    let mut errors = Vec::new();
    walk(value, schema, defs, "$", &mut errors);
    errors
}

fn walk(
    value: &Value,
    schema: &Value,
    defs: &Map<String, Value>,
    at: &str,
    errors: &mut Vec<String>,
) {
    let Some(s) = schema.as_object() else {
        errors.push(format!("{at}: the schema is not an object: {schema}"));
        return;
    };
    for key in s.keys() {
        let known = [
            "type",
            "properties",
            "required",
            "additionalProperties",
            "items",
            "enum",
            "anyOf",
            "$ref",
            "description",
        ];
        if !known.contains(&key.as_str()) {
            errors.push(format!(
                "{at}: the schema uses '{key}', which this checker does not know"
            ));
        }
    }
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        match r.strip_prefix("#/$defs/").and_then(|n| defs.get(n)) {
            Some(def) => walk(value, def, defs, at, errors),
            None => errors.push(format!("{at}: no definition {r}")),
        }
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array) {
        let fits = any.iter().any(|alt| check(value, alt, defs).is_empty());
        if !fits {
            let why: Vec<String> = any.iter().flat_map(|alt| check(value, alt, defs)).collect();
            errors.push(format!("{at}: fits none of anyOf: {}", why.join("; ")));
        }
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        if !types.iter().any(|t| is_type(value, t)) {
            errors.push(format!("{at}: {value} is not of type {t}"));
            return;
        }
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        errors.push(format!(
            "{at}: {value} is not one of {}",
            Value::Array(allowed.clone())
        ));
    }
    if let Value::Object(fields) = value {
        let props = s.get("properties").and_then(Value::as_object);
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            for r in required.iter().filter_map(Value::as_str) {
                if !fields.contains_key(r) {
                    errors.push(format!("{at}: lacks the required '{r}'"));
                }
            }
        }
        for (k, v) in fields {
            let path = format!("{at}.{k}");
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(sub), _) => walk(v, sub, defs, &path, errors),
                (None, Some(Value::Bool(true))) => {}
                (None, Some(sub @ Value::Object(_))) => walk(v, sub, defs, &path, errors),
                (None, _) if props.is_some() || s.contains_key("additionalProperties") => {
                    errors.push(format!("{path}: not in the documented schema"))
                }
                (None, _) => {}
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, s.get("items")) {
        for (i, v) in items.iter().enumerate() {
            walk(v, item, defs, &format!("{at}[{i}]"), errors);
        }
    }
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => false,
    }
}

/// Every object in `schema` without `properties` or `additionalProperties` that is meant to
/// describe an object: a schema too loose to catch a new field.
pub fn loose_objects(schema: &Value, at: &str, out: &mut Vec<String>) {
    match schema {
        Value::Object(s) => {
            if s.get("type") == Some(&Value::String("object".into()))
                && !s.contains_key("properties")
                && !s.contains_key("additionalProperties")
            {
                out.push(at.to_string());
            }
            for (k, v) in s {
                loose_objects(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                loose_objects(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}
