//! Walking the entries of an untrusted tar stream with every extension header capped.
//!
//! The `tar` crate, left to itself, reads a GNU long name (`L`), long link (`K`) or PAX
//! header (`x`) into memory whole, whatever size it declares: one header can make jrt
//! allocate a gigabyte before a single check (the package's checksum included) has run.
//! Here the crate hands over raw entries and this loop applies the extensions itself, after
//! checking each one's declared size against a cap (the path-length cap for names). Where
//! two extensions could disagree (a GNU long name and a PAX `path`; a PAX `size` other than
//! the header's) the entry is refused rather than read one way here and another elsewhere.

use std::io::{self, Read};

/// The most one PAX header may hold: a path and a link target at the cap, and room for the
/// usual small records (mtime, uid, xattrs).
fn pax_cap(max_path_len: usize) -> u64 {
    2 * max_path_len as u64 + 4096
}

/// Global PAX headers (`g`, as `git archive` writes one) are read and ignored; only this many.
const MAX_GLOBAL_HEADERS: u32 = 8;

/// Why the stream's headers were refused.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("not a tar stream: {0}")]
    Format(#[from] io::Error),
    #[error("a {kind} of {size} bytes is over the {cap}-byte limit")]
    TooLong {
        kind: &'static str,
        size: u64,
        cap: u64,
    },
    #[error("{0}")]
    Ambiguous(&'static str),
}

/// The names an entry has once its extension headers are applied.
#[derive(Debug, Default)]
pub struct Names {
    pub path: Vec<u8>,
    /// A symlink's (or hard link's) target.
    pub link: Option<Vec<u8>>,
}

#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

/// Calls `f` with every real entry of `archive` (extension headers applied, never passed
/// on) and its names. Stops at the first error, from the headers or from `f`.
pub fn each<R: Read, E: From<HeaderError>>(
    archive: &mut tar::Archive<R>,
    max_path_len: usize,
    mut f: impl FnMut(&mut tar::Entry<'_, R>, Names) -> Result<(), E>,
) -> Result<(), E> {
    let name_cap = max_path_len as u64 + 1; // and its NUL
    let mut pending = Pending::default();
    let mut globals = 0;
    let entries = archive.entries().map_err(HeaderError::from)?.raw(true);
    for entry in entries {
        let mut entry = entry.map_err(HeaderError::from)?;
        let kind = entry.header().entry_type();
        let (slot, what, cap) = if kind.is_gnu_longname() {
            (Some(&mut pending.long_name), "GNU long name", name_cap)
        } else if kind.is_gnu_longlink() {
            (Some(&mut pending.long_link), "GNU long link name", name_cap)
        } else if kind.is_pax_local_extensions() {
            (Some(&mut pending.pax), "PAX header", pax_cap(max_path_len))
        } else if kind.is_pax_global_extensions() {
            globals += 1;
            if globals > MAX_GLOBAL_HEADERS {
                return Err(HeaderError::Ambiguous("more than 8 global PAX headers").into());
            }
            (None, "global PAX header", pax_cap(max_path_len))
        } else {
            let names = apply(&entry, std::mem::take(&mut pending))?;
            f(&mut entry, names)?;
            continue;
        };
        // Checked against the declared size, before a byte of it is read.
        let size = entry.size();
        if size > cap {
            return Err(HeaderError::TooLong {
                kind: what,
                size,
                cap,
            }
            .into());
        }
        let mut data = Vec::with_capacity(size as usize);
        entry
            .by_ref()
            .take(cap)
            .read_to_end(&mut data)
            .map_err(HeaderError::from)?;
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(HeaderError::Ambiguous(
                    "two extension headers of one kind describe one entry",
                )
                .into());
            }
            *slot = Some(data);
        }
    }
    if pending.long_name.is_some() || pending.long_link.is_some() || pending.pax.is_some() {
        return Err(HeaderError::Ambiguous(
            "the archive ends with extension headers that describe no entry",
        )
        .into());
    }
    Ok(())
}

/// The entry's names with its extension headers applied.
fn apply<R: Read>(entry: &tar::Entry<'_, R>, pending: Pending) -> Result<Names, HeaderError> {
    let header = entry.header();
    let trim = |mut b: Vec<u8>| {
        while b.last() == Some(&0) {
            b.pop();
        }
        b
    };
    let mut path = pending.long_name.map(trim);
    let mut link = pending.long_link.map(trim);
    if let Some(pax) = &pending.pax {
        for record in tar::PaxExtensions::new(pax) {
            let record = record.map_err(|_| HeaderError::Ambiguous("a PAX record is malformed"))?;
            match record.key_bytes() {
                b"path" => {
                    if path.is_some() {
                        return Err(HeaderError::Ambiguous(
                            "both a GNU long name and a PAX path name one entry",
                        ));
                    }
                    path = Some(record.value_bytes().to_vec());
                }
                b"linkpath" => {
                    if link.is_some() {
                        return Err(HeaderError::Ambiguous(
                            "both a GNU long link and a PAX linkpath name one entry",
                        ));
                    }
                    link = Some(record.value_bytes().to_vec());
                }
                b"size" => {
                    // The crate sized the data by the header; another size would read the
                    // rest of the stream out of step.
                    let declared = std::str::from_utf8(record.value_bytes())
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok());
                    if declared != Some(entry.size()) {
                        return Err(HeaderError::Ambiguous(
                            "a PAX size differs from the entry header's",
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    let path = path.unwrap_or_else(|| header.path_bytes().into_owned());
    let link = link.or_else(|| header.link_name_bytes().map(|b| b.into_owned()));
    Ok(Names { path, link })
}

/// Reads the members `wanted` (such as `manifest.yaml`) that sit directly under a package's
/// top-level directory, each at most `cap` bytes, from the gzip-compressed tar `reader`.
/// Other entries are skipped unread. The caller decides whether the package is trusted.
pub fn top_members(
    reader: impl Read,
    wanted: &[&str],
    cap: u64,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>, HeaderError> {
    let mut found = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(crate::gzip::Decoder::new(reader));
    let max_path = crate::Limits::default().max_path_len;
    each(&mut archive, max_path, |entry, names| {
        let parts: Vec<&[u8]> = names
            .path
            .split(|b| *b == b'/')
            .filter(|p| !p.is_empty() && *p != b".")
            .collect();
        let [_, member] = parts.as_slice() else {
            return Ok(());
        };
        let Some(name) = wanted.iter().find(|w| w.as_bytes() == *member) else {
            return Ok(());
        };
        if !entry.header().entry_type().is_file() {
            return Ok(());
        }
        if entry.size() > cap {
            return Err(HeaderError::TooLong {
                kind: "member",
                size: entry.size(),
                cap,
            });
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        found.insert(name.to_string(), bytes);
        Ok::<_, HeaderError>(())
    })?;
    Ok(found)
}
