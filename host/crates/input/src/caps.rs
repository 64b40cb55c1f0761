//! Caps on structured text that comes from outside: registry.json, manifest.yaml,
//! runtime.yml, versions.lock. Each has a size cap (checked before it is parsed) and a
//! nesting cap (real files nest a few levels; a deeply nested one only costs the parser
//! stack and time). The parsers' own recursion limits (128) stay as a backstop.

/// How deep any of these files may nest (objects, arrays, mappings, sequences).
pub const MAX_DEPTH: usize = 32;

/// The largest manifest.yaml, runtime.yml or versions.lock read (real ones are a few KiB).
pub const MAX_YAML_BYTES: u64 = 1 << 20;

/// Why a file was refused before (or instead of) being parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapError {
    #[error("it is {size} bytes, over the {cap}-byte limit")]
    TooLarge { size: u64, cap: u64 },
    #[error("it nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

/// Refuses more than `cap` bytes.
pub fn size(bytes: &[u8], cap: u64) -> Result<(), CapError> {
    if bytes.len() as u64 > cap {
        return Err(CapError::TooLarge {
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(())
}

/// Refuses JSON nested deeper than [`MAX_DEPTH`], by a scan that needs no parse: brackets
/// outside strings.
pub fn json_depth(bytes: &[u8]) -> Result<(), CapError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in bytes {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(CapError::TooDeep);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Refuses a parsed YAML value nested deeper than [`MAX_DEPTH`].
pub fn yaml_depth(value: &serde_norway::Value) -> Result<(), CapError> {
    use serde_norway::Value;
    // Iterative, so the check itself cannot overflow the stack.
    let mut stack = vec![(value, 1usize)];
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Sequence(s) => Box::new(s.iter()),
            Value::Mapping(m) => Box::new(m.iter().flat_map(|(k, v)| [k, v])),
            Value::Tagged(t) => Box::new(std::iter::once(&t.value)),
            _ => continue,
        };
        if depth > MAX_DEPTH {
            return Err(CapError::TooDeep);
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Parses YAML from outside into `T` under both caps.
pub fn yaml<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, YamlError> {
    size(bytes, MAX_YAML_BYTES)?;
    let value: serde_norway::Value = serde_norway::from_slice(bytes)?;
    yaml_depth(&value)?;
    Ok(serde_norway::from_value(value)?)
}

/// Why [`yaml`] refused its input.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error(transparent)]
    Cap(#[from] CapError),
    #[error(transparent)]
    Parse(#[from] serde_norway::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_nesting_is_counted_outside_strings() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(json_depth(deep.as_bytes()), Err(CapError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(json_depth(ok.as_bytes()), Ok(()));
        let quoted = format!("{{\"a\": \"{}\\\"{}\"}}", "[".repeat(100), "{".repeat(100));
        assert_eq!(json_depth(quoted.as_bytes()), Ok(()));
    }

    #[test]
    fn yaml_nesting_and_size_are_capped() {
        let deep = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        let e = yaml::<serde_norway::Value>(deep.as_bytes()).unwrap_err();
        assert!(matches!(e, YamlError::Cap(CapError::TooDeep)), "{e}");
        let mut nested = String::new();
        for i in 0..MAX_DEPTH + 2 {
            nested.push_str(&format!("{}k:\n", "  ".repeat(i)));
        }
        assert!(yaml::<serde_norway::Value>(nested.as_bytes()).is_err());
        let big = vec![b'#'; (MAX_YAML_BYTES + 1) as usize];
        let e = yaml::<serde_norway::Value>(&big).unwrap_err();
        assert!(e.to_string().contains("over the 1048576-byte limit"), "{e}");
        let v = yaml::<serde_norway::Value>(b"a: [1, {b: 2}]\n").unwrap();
        assert_eq!(v["a"][1]["b"].as_u64(), Some(2));
    }
}
