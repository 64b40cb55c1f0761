//! The per-call store state: an empty WASI context, the memory limiter and the `log` import.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::v1_0_0::joblet::runtime as v1_0_0;
use super::bindings::v1_1_0::joblet::runtime as v1_1_0;
use super::bindings::{host, types};
use super::convert::Convert;

/// How much of a plugin's stderr is kept (a panic message fits easily).
const STDERR_CAPACITY: usize = 64 * 1024;

/// Where plugin log lines go: `(plugin, level, message)`.
pub(crate) type LogSink = Arc<dyn Fn(&str, host::LogLevel, &str) + Send + Sync>;

/// Denies growth past a byte budget shared by every memory and table of the call (a
/// component is several core instances, each free to define its own memory: a cap per memory
/// would let each of them have the whole budget), and remembers that it did, so an
/// out-of-memory trap can be reported as such.
pub(crate) struct Limiter {
    pub(crate) memory_bytes: usize,
    /// Bytes held by all memories and tables of the store so far.
    pub(crate) used: usize,
    pub(crate) denied: bool,
}

impl Limiter {
    /// Grants a growth from `current` to `desired` bytes when the total stays in budget.
    fn grow(&mut self, current: usize, desired: usize) -> bool {
        let total = self.used.saturating_add(desired.saturating_sub(current));
        if total > self.memory_bytes {
            self.denied = true;
            return false;
        }
        self.used = total;
        true
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(self.grow(current, desired))
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table slot is a pointer; tables draw on the same budget.
        let slot = size_of::<usize>();
        Ok(self.grow(current.saturating_mul(slot), desired.saturating_mul(slot)))
    }
}

/// Everything one plugin call's store holds.
pub(crate) struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) stderr: MemoryOutputPipe,
    plugin: Arc<str>,
    log: LogSink,
}

impl StoreState {
    /// A fresh state: no preopened directories, no environment, no arguments, sockets and
    /// name lookups refused, stdin closed, stdout discarded, stderr kept for error messages.
    pub(crate) fn new(plugin: Arc<str>, memory_bytes: usize, log: LogSink) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        StoreState {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                memory_bytes,
                used: 0,
                denied: false,
            },
            stderr,
            plugin,
            log,
        }
    }

    /// What the plugin wrote to stderr, as text.
    pub(crate) fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents()).into_owned()
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl host::Host for StoreState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        // Bound what a chatty plugin can push through one line.
        let message: String = message.chars().take(4096).collect();
        (self.log)(&self.plugin, level, &message);
    }
}

impl types::Host for StoreState {}

impl v1_0_0::host::Host for StoreState {
    fn log(&mut self, level: v1_0_0::host::LogLevel, message: String) {
        host::Host::log(self, level.convert(), message)
    }
}

impl v1_0_0::types::Host for StoreState {}

impl v1_1_0::host::Host for StoreState {
    fn log(&mut self, level: v1_1_0::host::LogLevel, message: String) {
        host::Host::log(self, level.convert(), message)
    }
}

impl v1_1_0::types::Host for StoreState {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A core module defining one memory of `pages` 64 KiB pages.
    fn module_with_memory(pages: u8) -> Vec<u8> {
        assert!(pages < 0x80, "one LEB128 byte");
        let mut m = b"\0asm\x01\0\0\0".to_vec();
        m.extend_from_slice(&[5, 3, 1, 0, pages]); // memory section: 1 memory, min only
        m
    }

    #[test]
    fn the_memory_budget_covers_every_instance_of_a_call() {
        // Two core instances in one store (as a component's are), 6.25 MiB of memory each,
        // under a 10 MiB budget: the first fits, the second does not.
        let engine = wasmtime::Engine::default();
        let module = wasmtime::Module::new(&engine, module_with_memory(100)).unwrap();
        let log: LogSink = Arc::new(|_, _, _| {});
        let mut store = wasmtime::Store::new(&engine, StoreState::new("t".into(), 10 << 20, log));
        store.limiter(|s| &mut s.limiter);
        wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        assert!(!store.data().limiter.denied);
        assert!(wasmtime::Instance::new(&mut store, &module, &[]).is_err());
        assert!(store.data().limiter.denied);
    }

    #[test]
    fn growth_is_counted_once_per_byte() {
        let mut l = Limiter {
            memory_bytes: 100,
            used: 0,
            denied: false,
        };
        assert!(l.grow(0, 40)); // memory a
        assert!(l.grow(0, 40)); // memory b
        assert!(l.grow(40, 60)); // a grows by 20: 100 in all
        assert!(!l.grow(40, 41)); // b by one more byte
        assert!(l.denied);
        assert_eq!(l.used, 100);
    }
}
