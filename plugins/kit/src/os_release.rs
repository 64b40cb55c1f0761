//! Parsing of `os-release(5)` files: `KEY=value` lines with shell-style quoting.

use std::collections::BTreeMap;

/// The fields of an os-release file, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OsRelease {
    fields: BTreeMap<String, String>,
}

impl OsRelease {
    /// Parses the text of an os-release file. Lines that are not `KEY=value` (comments,
    /// blanks, garbage) are skipped, as systemd does.
    pub fn parse(text: &str) -> Self {
        let mut fields = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, raw)) = line.split_once('=') else {
                continue;
            };
            let key = key.trim();
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                continue;
            }
            fields.insert(key.to_string(), unquote(raw.trim()));
        }
        OsRelease { fields }
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    /// `ID`, lower-cased; os-release(5) says it defaults to `linux`.
    pub fn id(&self) -> String {
        self.get("ID").unwrap_or("linux").to_ascii_lowercase()
    }

    /// `ID_LIKE`, split on whitespace and lower-cased.
    pub fn id_like(&self) -> Vec<String> {
        self.get("ID_LIKE")
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_ascii_lowercase)
            .collect()
    }

    /// `VERSION_ID`, or empty (rolling releases such as Debian sid have none).
    pub fn version_id(&self) -> String {
        self.get("VERSION_ID").unwrap_or("").to_string()
    }

    /// `PRETTY_NAME`, falling back to `NAME` and then `Linux` as os-release(5) says.
    pub fn pretty_name(&self) -> String {
        self.get("PRETTY_NAME")
            .or_else(|| self.get("NAME"))
            .unwrap_or("Linux")
            .to_string()
    }
}

/// Removes one level of double or single quotes and the backslash escapes allowed inside
/// double quotes.
fn unquote(raw: &str) -> String {
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[0] == b'\'' && bytes[bytes.len() - 1] == b'\'' {
        return raw[1..raw.len() - 1].to_string();
    }
    if bytes.len() >= 2 && bytes[0] == b'"' && bytes[bytes.len() - 1] == b'"' {
        let inner = &raw[1..raw.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some(n @ ('"' | '\\' | '$' | '`')) => out.push(n),
                    Some(n) => {
                        out.push('\\');
                        out.push(n);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        return out;
    }
    raw.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_escapes() {
        let os = OsRelease::parse(
            "NAME=\"Fancy \\\"Linux\\\"\"\nID=fancy\nVERSION_ID='1.0'\n# comment\nbad line\n=x\n",
        );
        assert_eq!(os.get("NAME"), Some("Fancy \"Linux\""));
        assert_eq!(os.id(), "fancy");
        assert_eq!(os.version_id(), "1.0");
        assert_eq!(os.pretty_name(), "Fancy \"Linux\"");
    }

    #[test]
    fn defaults_per_os_release_5() {
        let os = OsRelease::parse("");
        assert_eq!(os.id(), "linux");
        assert_eq!(os.version_id(), "");
        assert_eq!(os.pretty_name(), "Linux");
    }
}
