//! Safe extraction of a runtime package (`.tar.gz` with one top-level directory).
//!
//! Our own loop over the entries, because a package is untrusted input: only regular files,
//! directories and symlinks whose target stays inside the tree are allowed. `..`, absolute
//! paths, escaping symlinks, writing through a symlink, hard links, devices, FIFOs, duplicate
//! paths and names with control characters or invalid UTF-8 fail the whole extraction. Modes
//! are normalised (no setuid/setgid/sticky, no group/other write), entry count, total size and
//! path length are capped, and the gzip stream is read to its end so a bad trailer or CRC is
//! caught. The caller extracts into a fresh staging directory and discards it on error.
//!
//! The crate also holds what extraction is built from and packing reuses: the packages' gzip
//! layer ([`gzip`]), the tar header checks ([`tar_entries`]), an ordered thread pool
//! ([`ordered`]) and recycled buffers ([`buffers`]). It reads and writes local files only: no
//! network, no plugins, no knowledge of registries.
//!
//! Inflating is [`crate::gzip::Decoder`]'s: indexed members on several threads, any other
//! gzip stream on the calling thread. The calling thread parses the tar stream; creating,
//! writing and hashing the files (system calls, mostly) is spread over a few writer threads.
//! Small files travel to them whole; large ones in 1 MiB chunks, in order, to one writer.

pub mod buffers;
pub mod gzip;
pub mod layer;
pub mod ordered;
pub mod tar_entries;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::buffers::{Recycler, read_full};
pub use crate::layer::extract_layer;

/// Caps on what one package may contain.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_total_bytes: u64,
    pub max_path_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 500_000,
            max_total_bytes: 32 << 30,
            max_path_len: 4096,
        }
    }
}

/// What a tree entry is, as the install receipt records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Kind {
    File {
        /// BLAKE3 of the contents, lower-case hex: what jrt records since receipt version 2
        /// (a third of SHA-256's cost on every install and every `jrt verify`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        blake3: Option<String>,
        /// SHA-256 of the contents, lower-case hex, as receipts of version 1 recorded them.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sha256: Option<String>,
        size: u64,
        mode: u32,
    },
    Dir,
    Symlink {
        target: String,
    },
}

/// One extracted entry, by its path relative to the tree (top-level directory stripped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub path: String,
    #[serde(flatten)]
    pub kind: Kind,
}

/// What was extracted.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// The package's single top-level directory name.
    pub top: String,
    pub records: Vec<Record>,
    pub bytes: u64,
}

/// Why extraction failed.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("the package is not a valid .tar.gz: {0}")]
    Format(String),
    #[error("the package entry '{path}' is refused: {reason}")]
    Unsafe { path: String, reason: String },
    #[error("the package exceeds the limit of {0}")]
    Limit(String),
    #[error("the package is refused: {0}")]
    Header(crate::tar_entries::HeaderError),
    #[error(transparent)]
    Io(#[from] jrt_fs::IoError),
}

/// Why a symlink in a package is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkRefusal {
    #[error("its symlink resolves outside the runtime (via '{0}')")]
    ResolvesOutside(String),
    #[error("its symlinks loop")]
    Loop,
    #[error("cannot read its symlink: {0}")]
    Unreadable(String),
    #[error("it resolves through the absolute symlink '{0}'")]
    ThroughAbsolute(String),
    #[error("its symlink target is empty")]
    Empty,
    #[error("its symlink points to the absolute path '{0}'")]
    Absolute(String),
    #[error("its symlink target contains control characters")]
    ControlCharacters,
    #[error("its symlink target '{0}' is not a plain path")]
    NotPlain(String),
    #[error("its symlink target '{0}' points outside the runtime")]
    Outside(String),
}

fn unsafe_entry(path: impl Into<String>, reason: impl ToString) -> ExtractError {
    ExtractError::Unsafe {
        path: path.into(),
        reason: reason.to_string(),
    }
}

impl From<crate::tar_entries::HeaderError> for ExtractError {
    fn from(e: crate::tar_entries::HeaderError) -> Self {
        use crate::tar_entries::HeaderError;
        match e {
            HeaderError::Format(e) => format_err(e),
            e => ExtractError::Header(e),
        }
    }
}

fn format_err(e: io::Error) -> ExtractError {
    ExtractError::Format(e.to_string())
}

/// Extracts the gzip-compressed tar stream `reader` into `dest`, which must be an empty
/// directory, stripping the single top-level directory.
pub fn extract(reader: impl Read, dest: &Path, limits: &Limits) -> Result<Extracted, ExtractError> {
    extract_observed(reader, dest, limits, &|_| {})
}

/// [`extract`], calling `entries` with the count of entries read so far after each one (for
/// a progress display; it runs on the extracting thread, so it should be cheap).
pub fn extract_observed(
    reader: impl Read,
    dest: &Path,
    limits: &Limits,
    entries: &dyn Fn(u64),
) -> Result<Extracted, ExtractError> {
    let writers = Writers::start();
    let result = extract_with(reader, dest, limits, &writers, entries);
    // Always wait for the writers, so nothing writes into the tree after we return (the
    // caller may be about to delete it).
    let written = writers.finish();
    let mut out = result?;
    for (index, digest) in written? {
        if let Some(Record {
            kind: Kind::File { blake3: slot, .. },
            ..
        }) = out.records.get_mut(index)
        {
            *slot = Some(digest);
        }
    }
    Ok(out)
}

fn extract_with(
    reader: impl Read,
    dest: &Path,
    limits: &Limits,
    writers: &Writers,
    observe: &dyn Fn(u64),
) -> Result<Extracted, ExtractError> {
    let mut archive = tar::Archive::new(crate::gzip::Decoder::new(reader));
    let mut out = Extracted::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut dirs: HashSet<PathBuf> = HashSet::new();
    // Directories recorded in the receipt, explicit entries or created as parents.
    let mut recorded_dirs: HashSet<String> = HashSet::new();
    let mut symlinks: HashSet<String> = HashSet::new();
    let mut entries_count: u64 = 0;
    crate::tar_entries::each(&mut archive, limits.max_path_len, |entry, names| {
        entries_count += 1;
        if entries_count > limits.max_entries {
            return Err(ExtractError::Limit(format!(
                "{} entries",
                limits.max_entries
            )));
        }
        observe(entries_count);
        let raw = names.path;
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let name = std::str::from_utf8(&raw)
            .map_err(|_| unsafe_entry(&shown, "its name is not valid UTF-8"))?
            .to_string();
        if raw.len() > limits.max_path_len {
            return Err(unsafe_entry(
                &shown,
                format!("its path is longer than {} bytes", limits.max_path_len),
            ));
        }
        let rel = relative_path(&name, &mut out.top)?;
        let entry_type = entry.header().entry_type();
        let Some(rel) = rel else {
            // The top-level directory itself.
            if !entry_type.is_dir() {
                return Err(unsafe_entry(
                    &name,
                    "the top-level entry must be a directory",
                ));
            }
            return Ok(());
        };
        if !seen.insert(rel.clone()) {
            return Err(unsafe_entry(&name, "it appears twice in the package"));
        }
        if let Some(link) = symlink_prefix(&rel, &symlinks) {
            return Err(unsafe_entry(
                &name,
                format!("it would be written through the symlink '{link}'"),
            ));
        }
        let target = dest.join(&rel);
        for created in ensure_parent(dest, &target, &mut dirs)? {
            if recorded_dirs.insert(created.clone()) {
                out.records.push(Record {
                    path: created,
                    kind: Kind::Dir,
                });
            }
        }

        if entry_type.is_file() || entry_type == tar::EntryType::Continuous {
            let size = entry.size();
            out.bytes = out.bytes.saturating_add(size);
            if out.bytes > limits.max_total_bytes {
                return Err(ExtractError::Limit(format!(
                    "{} bytes unpacked",
                    limits.max_total_bytes
                )));
            }
            let mode = normalise_mode(entry.header().mode().unwrap_or(0o644));
            writers.check()?;
            if size <= INLINE_MAX {
                let len = size as usize;
                let mut data = if len >= RECYCLE_MIN {
                    writers.recycler.get(len)
                } else {
                    vec![0; len]
                };
                let got = read_full(entry, &mut data[..len]).map_err(format_err)?;
                if got != len {
                    return Err(ExtractError::Format(format!(
                        "the entry '{name}' ends after {got} of its {size} bytes"
                    )));
                }
                writers.send(Job::Whole {
                    index: out.records.len(),
                    path: target,
                    mode,
                    data,
                    len,
                })?;
            } else {
                // Large files stream to a writer in chunks, so writing and hashing them
                // does not hold up reading the archive.
                writers.send_stream(out.records.len(), target, mode, entry, size, &name)?;
            }
            // The digest is filled in when the writer is done.
            out.records.push(Record {
                path: rel,
                kind: Kind::File {
                    blake3: None,
                    sha256: None,
                    size,
                    mode,
                },
            });
        } else if entry_type.is_dir() {
            if !dirs.contains(&target) {
                fs::create_dir(&target).map_err(|e| io_err(&target, e))?;
                dirs.insert(target.clone());
            }
            if recorded_dirs.insert(rel.clone()) {
                out.records.push(Record {
                    path: rel,
                    kind: Kind::Dir,
                });
            }
        } else if entry_type.is_symlink() {
            let link = names
                .link
                .ok_or_else(|| unsafe_entry(&name, "its symlink has no target"))?;
            let link = String::from_utf8(link)
                .map_err(|_| unsafe_entry(&name, "its symlink target is not valid UTF-8"))?;
            check_symlink(&rel, &link).map_err(|reason| unsafe_entry(&name, reason))?;
            std::os::unix::fs::symlink(&link, &target).map_err(|e| io_err(&target, e))?;
            symlinks.insert(rel.clone());
            out.records.push(Record {
                path: rel,
                kind: Kind::Symlink { target: link },
            });
        } else {
            let what = match entry_type {
                tar::EntryType::Link => "hard links are not allowed",
                tar::EntryType::Char | tar::EntryType::Block => "device files are not allowed",
                tar::EntryType::Fifo => "FIFOs are not allowed",
                tar::EntryType::GNUSparse => "sparse files are not allowed",
                _ => "entries of this type are not allowed",
            };
            return Err(unsafe_entry(&name, what));
        }
        Ok(())
    })?;
    if out.top.is_empty() {
        return Err(ExtractError::Format("the archive is empty".into()));
    }
    check_links_resolve(dest, symlinks.iter().map(String::as_str))?;

    // Read the gzip stream to its end so its CRC and length trailer are checked; refuse a
    // long tail of data after the archive (a cheap way to hide a decompression bomb).
    let mut gz = archive.into_inner();
    let mut tail = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = gz.read(&mut buf).map_err(format_err)?;
        if n == 0 {
            break;
        }
        tail += n as u64;
        if tail > 1 << 20 {
            return Err(ExtractError::Format(
                "more than 1 MiB of data follows the end of the archive".into(),
            ));
        }
    }
    Ok(out)
}

fn io_err(path: &Path, error: io::Error) -> ExtractError {
    jrt_fs::io("cannot write", path)(error).into()
}

/// Checks an entry name and strips the top-level directory; `None` for the top itself.
fn relative_path(name: &str, top: &mut String) -> Result<Option<String>, ExtractError> {
    if name.chars().any(|c| c.is_control()) {
        return Err(unsafe_entry(
            name.escape_debug().to_string(),
            "its name contains control characters",
        ));
    }
    if name.starts_with('/') {
        return Err(unsafe_entry(name, "absolute paths are not allowed"));
    }
    let mut parts = Vec::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or_default()),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry(name, "'..' is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry(name, "absolute paths are not allowed"));
            }
        }
    }
    let Some((first, rest)) = parts.split_first() else {
        return Err(unsafe_entry(name, "its name is empty"));
    };
    if top.is_empty() {
        *top = first.to_string();
    } else if top != first {
        return Err(unsafe_entry(
            name,
            format!(
                "the package must have one top-level directory, but it has '{top}' and '{first}'"
            ),
        ));
    }
    if rest.is_empty() {
        return Ok(None);
    }
    if rest[0] == ".jrt" {
        return Err(unsafe_entry(
            name,
            "'.jrt' inside a runtime is jrt's own (the install receipt)",
        ));
    }
    Ok(Some(rest.join("/")))
}

/// Checks that every symlink in `tree` (relative paths in `links`) resolves inside the tree
/// when followed for real, through the other symlinks: a link that is harmless on its own
/// (`y -> ../..`) can make another one escape (`x -> y/../../etc`), which a lexical check of
/// each target alone cannot see. Dangling links are fine as long as the part that exists
/// stays inside.
pub fn check_links_resolve<'a>(
    tree: &Path,
    links: impl IntoIterator<Item = &'a str>,
) -> Result<(), ExtractError> {
    for link in links {
        resolve_inside(tree, link).map_err(|reason| unsafe_entry(link, reason))?;
    }
    Ok(())
}

/// Follows `rel` inside `tree` component by component, as the kernel would.
fn resolve_inside(tree: &Path, rel: &str) -> Result<(), LinkRefusal> {
    let mut at: Vec<String> = Vec::new();
    let mut todo: std::collections::VecDeque<String> = rel
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .map(String::from)
        .collect();
    let mut hops = 0;
    while let Some(part) = todo.pop_front() {
        if part == ".." {
            if at.pop().is_none() {
                return Err(LinkRefusal::ResolvesOutside(rel.to_string()));
            }
            continue;
        }
        at.push(part);
        let here = tree.join(at.join("/"));
        let Ok(meta) = fs::symlink_metadata(&here) else {
            // Dangling from here on; nothing more exists to follow.
            for rest in todo.drain(..) {
                if rest == ".." && at.pop().is_none() {
                    return Err(LinkRefusal::ResolvesOutside(rel.to_string()));
                }
                if rest != ".." {
                    at.push(rest);
                }
            }
            break;
        };
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return Err(LinkRefusal::Loop);
            }
            let target =
                fs::read_link(&here).map_err(|e| LinkRefusal::Unreadable(e.to_string()))?;
            let target = target.to_string_lossy().into_owned();
            if target.starts_with('/') {
                return Err(LinkRefusal::ThroughAbsolute(target));
            }
            at.pop();
            for (i, p) in target
                .split('/')
                .filter(|p| !p.is_empty() && *p != ".")
                .enumerate()
            {
                todo.insert(i, p.to_string());
            }
        }
    }
    Ok(())
}

/// The first symlink among `rel`'s parents, if any.
fn symlink_prefix(rel: &str, symlinks: &HashSet<String>) -> Option<String> {
    if symlinks.is_empty() {
        return None;
    }
    let mut prefix = String::new();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if symlinks.contains(&prefix) {
            return Some(prefix);
        }
    }
    None
}

/// A symlink target must be relative and, resolved lexically from the link's directory,
/// stay inside the tree.
fn check_symlink(rel: &str, target: &str) -> Result<(), LinkRefusal> {
    if target.is_empty() {
        return Err(LinkRefusal::Empty);
    }
    if target.starts_with('/') {
        return Err(LinkRefusal::Absolute(target.to_string()));
    }
    if target.chars().any(|c| c.is_control()) {
        return Err(LinkRefusal::ControlCharacters);
    }
    let mut depth: i64 = rel.split('/').count() as i64 - 1;
    for component in Path::new(target).components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return Err(LinkRefusal::NotPlain(target.to_string())),
        }
        if depth < 0 {
            return Err(LinkRefusal::Outside(target.to_string()));
        }
    }
    Ok(())
}

/// Creates the parent directories of `target` (below `dest`) that do not exist yet, and
/// returns them relative to `dest`, outermost first.
fn ensure_parent(
    dest: &Path,
    target: &Path,
    dirs: &mut HashSet<PathBuf>,
) -> Result<Vec<String>, ExtractError> {
    let Some(parent) = target.parent() else {
        return Ok(Vec::new());
    };
    if parent == dest || dirs.contains(parent) {
        return Ok(Vec::new());
    }
    fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
    let mut created = Vec::new();
    let mut p = parent;
    while p != dest && dirs.insert(p.to_path_buf()) {
        if let Ok(rel) = p.strip_prefix(dest) {
            created.push(rel.to_string_lossy().into_owned());
        }
        match p.parent() {
            Some(up) => p = up,
            None => break,
        }
    }
    created.reverse();
    Ok(created)
}

/// No setuid/setgid/sticky, no group or other write; executables stay executable.
pub fn normalise_mode(mode: u32) -> u32 {
    if mode & 0o111 != 0 { 0o755 } else { 0o644 }
}

/// Files up to this size go to the writer threads whole.
const INLINE_MAX: u64 = 1 << 20;

/// Buffers at least this long (large files' chunks, the larger small files) are recycled;
/// smaller ones come cheaply from the allocator's free lists.
const RECYCLE_MIN: usize = 64 << 10;

/// Sets `mode` exactly when the umask may have cleared some of its bits (a umask that only
/// clears group/other write, such as 022, cannot touch the normalised modes).
fn fix_mode(file: &File, target: &Path, mode: u32) -> Result<(), ExtractError> {
    static UMASK_HARMLESS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let harmless = *UMASK_HARMLESS.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .is_some_and(|umask| umask & !0o022 == 0)
    });
    if !harmless {
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| io_err(target, e))?;
    }
    Ok(())
}

/// Work for a writer thread: a small file whole, or a large one as `Open`, `Chunk`s and
/// `Close` in order on one writer's channel.
enum Job {
    Whole {
        /// Its record's index, for the digest.
        index: usize,
        path: PathBuf,
        mode: u32,
        /// The file is `data[..len]` (a recycled buffer may be longer).
        data: Vec<u8>,
        len: usize,
    },
    Open {
        index: usize,
        path: PathBuf,
        mode: u32,
    },
    /// The next `.1` bytes of the file, at the start of `.0`.
    Chunk(Vec<u8>, usize),
    Close,
}

/// How much of a large file travels in one message.
const CHUNK: u64 = 1 << 20;

/// A large file a writer is filling.
struct Streaming {
    index: usize,
    path: PathBuf,
    mode: u32,
    file: File,
    hasher: blake3::Hasher,
}

type Written = Vec<(usize, String)>;

/// The writer threads and what they report back. Files are sharded by their directory, so
/// two threads never create entries in the same directory at once (on ext4 that contends
/// on the directory's lock and costs more than it gains).
struct Writers {
    txs: Vec<std::sync::mpsc::SyncSender<Vec<Job>>>,
    /// Small files waiting to go to each writer together: one message (and one wake-up)
    /// per batch instead of per file.
    batches: std::cell::RefCell<Vec<Batch>>,
    threads: Vec<std::thread::JoinHandle<Written>>,
    error: std::sync::Arc<std::sync::Mutex<Option<ExtractError>>>,
    /// Where writers hand back the buffers they are done with.
    recycler: std::sync::Arc<Recycler>,
}

#[derive(Default)]
struct Batch {
    jobs: Vec<Job>,
    bytes: usize,
}

/// A batch goes to its writer once it holds this many files or bytes.
const BATCH_FILES: usize = 32;
const BATCH_BYTES: usize = 256 << 10;

impl Writers {
    fn start() -> Writers {
        // File creation mostly waits on the filesystem, so more writers than cores pay off
        // (measured on 2 cores: 4 writers beat 1 and 2; 8 gained nothing more).
        let n = std::thread::available_parallelism()
            .map(|n| n.get() * 2)
            .unwrap_or(4)
            .clamp(2, 8);
        let error = std::sync::Arc::new(std::sync::Mutex::new(None));
        // Enough for what the channels and batches can hold.
        let recycler = std::sync::Arc::new(Recycler::new(64));
        let mut txs = Vec::with_capacity(n);
        let mut threads = Vec::with_capacity(n);
        for _ in 0..n {
            // Bounded, so a fast inflater cannot queue more than a few MiB ahead of the disk.
            let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Job>>(16);
            let error = error.clone();
            let recycler = recycler.clone();
            txs.push(tx);
            threads.push(std::thread::spawn(move || {
                let mut done = Vec::new();
                let mut streaming: Option<Streaming> = None;
                let fail = |e: ExtractError| {
                    if let Ok(mut slot) = error.lock() {
                        slot.get_or_insert(e);
                    }
                };
                for job in rx.into_iter().flatten() {
                    match job {
                        Job::Whole {
                            index,
                            path,
                            mode,
                            data,
                            len,
                        } => {
                            match write_whole(&path, mode, &data[..len]) {
                                Ok(digest) => done.push((index, digest)),
                                Err(e) => fail(e),
                            }
                            if data.len() >= RECYCLE_MIN {
                                recycler.put(data);
                            }
                        }
                        Job::Open { index, path, mode } => match create(&path, mode) {
                            Ok(file) => {
                                streaming = Some(Streaming {
                                    index,
                                    path,
                                    mode,
                                    file,
                                    hasher: blake3::Hasher::new(),
                                })
                            }
                            Err(e) => fail(e),
                        },
                        Job::Chunk(data, len) => {
                            if let Some(s) = streaming.as_mut() {
                                s.hasher.update(&data[..len]);
                                if let Err(e) = s.file.write_all(&data[..len]) {
                                    fail(io_err(&s.path, e));
                                    streaming = None;
                                }
                            }
                            recycler.put(data);
                        }
                        Job::Close => {
                            if let Some(s) = streaming.take() {
                                match fix_mode(&s.file, &s.path, s.mode) {
                                    Ok(()) => {
                                        done.push((
                                            s.index,
                                            s.hasher.finalize().to_hex().to_string(),
                                        ));
                                    }
                                    Err(e) => fail(e),
                                }
                            }
                        }
                    }
                }
                done
            }));
        }
        Writers {
            batches: std::cell::RefCell::new((0..txs.len()).map(|_| Batch::default()).collect()),
            txs,
            threads,
            error,
            recycler,
        }
    }

    /// Fails early once a writer has failed.
    fn check(&self) -> Result<(), ExtractError> {
        match self.error.lock() {
            Ok(mut slot) => slot.take().map_or(Ok(()), Err),
            Err(_) => Err(ExtractError::Format("a writer thread panicked".into())),
        }
    }

    /// The writer for files in `path`'s directory.
    fn shard(&self, path: &Path) -> usize {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let dir = path.parent().unwrap_or(Path::new(""));
        BuildHasherDefault::<DefaultHasher>::default().hash_one(dir) as usize
            % self.txs.len().max(1)
    }

    fn tx(&self, shard: usize) -> Result<&std::sync::mpsc::SyncSender<Vec<Job>>, ExtractError> {
        self.txs
            .get(shard)
            .ok_or_else(|| ExtractError::Format("the writer threads stopped".into()))
    }

    /// Sends what is batched for `shard`.
    fn flush(&self, shard: usize) -> Result<(), ExtractError> {
        let jobs = match self.batches.borrow_mut().get_mut(shard) {
            Some(batch) if !batch.jobs.is_empty() => {
                batch.bytes = 0;
                std::mem::take(&mut batch.jobs)
            }
            _ => return Ok(()),
        };
        self.tx(shard)?
            .send(jobs)
            .map_err(|_| ExtractError::Format("the writer threads stopped".into()))
    }

    fn send(&self, job: Job) -> Result<(), ExtractError> {
        let (shard, size) = match &job {
            Job::Whole { path, len, .. } => (self.shard(path), *len),
            _ => return Err(ExtractError::Format("a stream job sent whole".into())),
        };
        let full = {
            let mut batches = self.batches.borrow_mut();
            let batch = batches
                .get_mut(shard)
                .ok_or_else(|| ExtractError::Format("the writer threads stopped".into()))?;
            batch.jobs.push(job);
            batch.bytes += size;
            batch.jobs.len() >= BATCH_FILES || batch.bytes >= BATCH_BYTES
        };
        if full {
            self.flush(shard)?;
        }
        Ok(())
    }

    /// Streams a large entry of `size` bytes to one writer, in order; fails if the entry
    /// ends early.
    fn send_stream(
        &self,
        index: usize,
        path: PathBuf,
        mode: u32,
        entry: &mut impl Read,
        size: u64,
        name: &str,
    ) -> Result<(), ExtractError> {
        let stopped = |_| ExtractError::Format("the writer threads stopped".into());
        let shard = self.shard(&path);
        self.flush(shard)?;
        let tx = self.tx(shard)?;
        tx.send(vec![Job::Open { index, path, mode }])
            .map_err(stopped)?;
        let mut read = 0u64;
        while read < size {
            let want = CHUNK.min(size - read) as usize;
            let mut chunk = self.recycler.get(want);
            let n = read_full(entry, &mut chunk[..want]).map_err(format_err)?;
            if n == 0 {
                break;
            }
            read += n as u64;
            tx.send(vec![Job::Chunk(chunk, n)]).map_err(stopped)?;
        }
        tx.send(vec![Job::Close]).map_err(stopped)?;
        if read != size {
            return Err(ExtractError::Format(format!(
                "the entry '{name}' ends after {read} of its {size} bytes"
            )));
        }
        Ok(())
    }

    /// Waits for every writer; returns the BLAKE3 of each file they wrote.
    fn finish(mut self) -> Result<Written, ExtractError> {
        // What is still batched is written too, unless the writers already stopped.
        let mut flushed = Ok(());
        for shard in 0..self.txs.len() {
            if flushed.is_ok() {
                flushed = self.flush(shard);
            }
        }
        self.txs.clear();
        let mut all = Vec::new();
        for t in self.threads.drain(..) {
            match t.join() {
                Ok(done) => all.extend(done),
                Err(_) => return Err(ExtractError::Format("a writer thread panicked".into())),
            }
        }
        self.check()?;
        flushed?;
        Ok(all)
    }
}

/// Creates a file, never following or replacing anything.
fn create(path: &Path, mode: u32) -> Result<File, ExtractError> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(path)
        .map_err(|e| io_err(path, e))
}

fn write_whole(path: &Path, mode: u32, data: &[u8]) -> Result<String, ExtractError> {
    let mut file = create(path, mode)?;
    file.write_all(data).map_err(|e| io_err(path, e))?;
    fix_mode(&file, path, mode)?;
    // No early writeback (sync_file_range) for any file: one per small file made installs
    // of thousands of files up to half again slower, and started on the large ones it
    // doubled the time of the receipt's fsync (ext4 then commits their data with it; 0.1 s
    // against 0.05 s in the install benchmark). The data reaches the disk with the next
    // periodic writeback, as tar's and uv's do. The receipt and the rename are synced;
    // `jrt verify` finds a tree a crash cut short.
    Ok(blake3::hash(data).to_hex().to_string())
}
