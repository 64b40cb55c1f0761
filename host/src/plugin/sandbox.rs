//! The per-call store state: an empty WASI context, the memory limiter and the `log` import.

use std::sync::Arc;

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::v1_0_0::joblet::runtime as v1_0_0;
use super::bindings::{host, types};
use super::since_v1_0_0::Convert;

/// How much of a plugin's stderr is kept (a panic message fits easily).
const STDERR_CAPACITY: usize = 64 * 1024;

/// Where plugin log lines go: `(plugin, level, message)`.
pub(crate) type LogSink = Arc<dyn Fn(&str, host::LogLevel, &str) + Send + Sync>;

/// Denies memory growth past a cap and remembers that it did, so an out-of-memory trap can
/// be reported as such.
pub(crate) struct Limiter {
    pub(crate) memory_bytes: usize,
    pub(crate) denied: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_bytes {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // A table slot is a pointer; hold tables to the same byte budget.
        if desired.saturating_mul(size_of::<usize>()) > self.memory_bytes {
            self.denied = true;
            return Ok(false);
        }
        Ok(true)
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
