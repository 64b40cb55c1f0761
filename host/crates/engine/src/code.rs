//! How compiled plugin code is made executable, and how code built into jrt is run in place.
//!
//! By default wasmtime copies every deserialized component into fresh anonymous memory before
//! making it executable. For the built-in plugins, whose code is part of jrt's own binary, that
//! copy was the largest cost of `jrt detect` (about 400 page faults for 1.7 MB): the embedded
//! code is already in memory, mapped from the executable file and shared with every other jrt
//! process. [`deserialize_embedded`] hands wasmtime that memory instead, so only the pages a
//! call touches are ever faulted in.
//!
//! Wasmtime only runs code it did not map itself through a [`CustomCodeMemory`], which then
//! publishes *all* code: [`Publisher`] does what wasmtime would (instruction-cache upkeep,
//! read+execute). Wasmtime also requires each piece of code to be registered once per
//! process, so a component loaded in place is kept and handed out again (to the same engine)
//! rather than loaded twice; another engine gets a copy.

use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock};

use wasmtime::component::Component;
use wasmtime::{CustomCodeMemory, Engine};

/// Components loaded in place, by the address range of their code. Never dropped: the code
/// is the binary's own and lives as long as the process.
static IN_PLACE: Mutex<Vec<(std::ops::Range<usize>, Component)>> = Mutex::new(Vec::new());

fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf reads a constant of the running kernel.
        match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
            n if n > 0 => n as usize,
            _ => 4096,
        }
    })
}

/// Loads a component from code compiled by jrt's build and embedded in the binary, using the
/// binary's own pages when `code` starts on a page boundary (the build aligns it), and a copy
/// otherwise.
///
/// # Safety
/// `code` must be what [`Engine::precompile_component`] produced for an engine configured as
/// this one (wasmtime checks its version and settings, not its origin), and is part of this
/// binary: static, never written.
pub unsafe fn deserialize_embedded(
    engine: &Engine,
    code: &'static [u8],
) -> wasmtime::Result<Component> {
    let at = code.as_ptr() as usize;
    let range = at..at + code.len();
    // SAFETY (both copies below): as for this function.
    let copy = || unsafe { Component::deserialize(engine, code) };
    if !at.is_multiple_of(page_size()) {
        return copy();
    }
    let mut loaded = IN_PLACE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((held, component)) = loaded
        .iter()
        .find(|(held, _)| held.start < range.end && range.start < held.end)
    {
        return match *held == range && Engine::same(component.engine(), engine) {
            true => Ok(component.clone()),
            // Another engine, or other bytes over the same code: registering it twice is
            // what wasmtime forbids.
            false => copy(),
        };
    }
    // SAFETY: `code` is static and nothing writes to it (the caller's contract); the
    // Publisher below makes its text executable, never writable.
    let component = unsafe { Component::deserialize_raw(engine, NonNull::from(code)) }?;
    loaded.push((range, component.clone()));
    Ok(component)
}

/// Makes compiled code executable for every engine [`crate::engine`] makes.
#[derive(Debug)]
pub(crate) struct Publisher;

impl CustomCodeMemory for Publisher {
    fn required_alignment(&self) -> usize {
        page_size()
    }

    fn publish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        // On architectures with separate instruction caches, none may hold stale lines for
        // code written at run time (a plugin compiled now, or a copy).
        // SAFETY: wasmtime passes the range of code it is about to publish, not yet run.
        unsafe { wasmtime_internal_jit_icache_coherence::clear_cache(ptr.cast(), len) }.map_err(
            |e| wasmtime::Error::msg(format!("cannot clear the instruction cache: {e}")),
        )?;
        protect(ptr, len, libc::PROT_READ | libc::PROT_EXEC)?;
        wasmtime_internal_jit_icache_coherence::pipeline_flush_mt()
            .map_err(|e| wasmtime::Error::msg(format!("cannot flush the pipeline: {e}")))?;
        Ok(())
    }

    fn unpublish_executable(&self, ptr: *const u8, len: usize) -> wasmtime::Result<()> {
        protect(ptr, len, libc::PROT_READ | libc::PROT_WRITE)
    }
}

fn protect(ptr: *const u8, len: usize, prot: libc::c_int) -> wasmtime::Result<()> {
    // SAFETY: wasmtime passes a page-aligned range of code memory it owns (or that
    // `deserialize_embedded` lent it), which no Rust reference writes through.
    if unsafe { libc::mprotect(ptr as *mut libc::c_void, len, prot) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(wasmtime::Error::msg(format!(
            "cannot change the protection of compiled code: {e}"
        )));
    }
    Ok(())
}
