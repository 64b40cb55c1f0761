//! What a plan made, checked before it is placed: no device nodes, FIFOs or sockets (Joblet
//! would bind them into jobs), and no setuid or setgid bits (stripped, and said).

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;

use super::{SetupError, StepError};

/// Walks `tree` without following links. Returns a note for each setuid/setgid bit removed.
pub fn check_tree(tree: &Path) -> Result<Vec<String>, SetupError> {
    let mut notes = Vec::new();
    let failed = |reason: StepError| SetupError::Failed {
        step: 0,
        kind: "tree check",
        reason: Box::new(reason),
    };
    let io = |action, path: &Path, error| SetupError::from(jrt_fs::io(action, path)(error));
    jrt_fs::walk(tree, io, |path, meta| {
        let kind = meta.file_type();
        let rel = path
            .strip_prefix(tree)
            .unwrap_or(path)
            .display()
            .to_string();
        let special = if kind.is_block_device() || kind.is_char_device() {
            Some("a device node")
        } else if kind.is_fifo() {
            Some("a FIFO")
        } else if kind.is_socket() {
            Some("a socket")
        } else {
            None
        };
        if let Some(what) = special {
            return Err(failed(StepError::SpecialFile { what, path: rel }));
        }
        let mode = meta.mode();
        if !kind.is_symlink() && mode & 0o6000 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o1777))
                .map_err(|e| io("cannot strip the setuid bit of", path, e))?;
            notes.push(format!(
                "removed the setuid/setgid bit of '{}' (a runtime never raises privileges)",
                rel.escape_debug()
            ));
        }
        Ok(())
    })?;
    Ok(notes)
}
