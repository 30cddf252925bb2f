//! Native recording on wasmtime: the same traces the JS recorder (`wasabi/js/recorder.js`)
//! writes for a module run in node, for a module run by a Rust host.
//!
//! A [`RecordingModule`] is an original module instrumented for recording
//! (`wasabi::instrument_for_recording`) and compiled. [`Recorder::instantiate`] links it in a
//! store with the externs for the original imports: every imported function is wrapped in a
//! host function that records the calls the module makes; the recorder provides memory 0 (if
//! the original defines it), the shadow memory and `__r3.sync`. The host then calls the
//! instance through the [`RecordedInstance`]: its exports are host functions recording each
//! call. Both kinds of wrappers are ordinary functions of the store, so other modules can
//! import them (a replay host module driving the recorded one, or recorded modules importing
//! each other, each with its own trace).
//!
//! Recording state lives outside the store's data (shared with the wrappers' closures), so any
//! store can hold any number of recorded instances. Instances are numbered per module (by its
//! sha256) and per [`Recorder`], from 0; all instances of one recorder live in one store.
//! Traces go to `<dir>/<name>-<instance>.r3` when the recording is finished, with a copy
//! `<dir>/<name>.wasm` of the original module.
//!
//! Differences to the JS recorder, which patches the JS API: natively the host's writes to
//! tables and globals are not seen as they happen. They are found by comparing with what the
//! module last had at every host -> module transition, so a table entry the host set twice is
//! one `table_set`, and one set back to its old value none. Functions of a recorded instance
//! that the host reads from a table it gets as they are (not wrapped): calling them through
//! [`RecordedInstance::call_func`] records the call, calling them directly does not.

mod adapter;
mod calls;
mod context;
mod foreign;
mod link;
mod metadata;
mod module;
mod sync;
mod values;

pub use module::{OriginalImport, RecordingModule};

use crate::trace::{Header, TraceError, VERSION};
use context::{Context, Shared, lock};
use foreign::Foreigners;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use thiserror::Error;
use wasmtime::{AsContextMut, Engine, Extern, Func, Instance, Val};

#[derive(Debug, Error)]
pub enum NativeError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Text { path: PathBuf, message: String },
    #[error("{module}: cannot instrument for recording: {source}")]
    Instrument { module: String, source: wasabi_wasm::Error },
    #[error("{module}: cannot compile the instrumented module: {error:#}")]
    Compile { module: String, error: wasmtime::Error },
    #[error("{module}: {message}")]
    Metadata { module: String, message: String },
    #[error("{module}: compiled for another engine than the store's")]
    Engine { module: String },
    #[error("{module}: {given} imports given, the module has {expected}")]
    ImportCount { module: String, expected: usize, given: usize },
    #[error("{module}: import {index} ({import}): {message}")]
    Link { module: String, index: usize, import: String, message: String },
    /// Linking or the start function failed; `error` is wasmtime's (a trap, a link error).
    #[error("{module}: instantiation failed: {error:#}")]
    Instantiate { module: String, error: wasmtime::Error },
    #[error("cannot write {}: {source}", path.display())]
    Output { path: PathBuf, source: std::io::Error },
    #[error("cannot write the trace {}: {source}", path.display())]
    Trace { path: PathBuf, source: TraceError },
    #[error("the recording of this instance has already finished")]
    Finished,
}

/// Reads a module file, binary or text format; a `.wasm` file is binary, so that a malformed
/// one is reported at its offset rather than as text that does not parse.
pub fn read_module(path: &Path) -> Result<Vec<u8>, NativeError> {
    let bytes =
        std::fs::read(path).map_err(|source| NativeError::Read { path: path.to_path_buf(), source })?;
    if path.extension().is_some_and(|ext| ext == "wasm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes).map(|module| module.into_owned()).map_err(|mut error| {
        error.set_path(path);
        NativeError::Text { path: path.to_path_buf(), message: error.to_string() }
    })
}

/// Records instances into one output directory; clones share the instance numbering.
#[derive(Clone)]
pub struct Recorder {
    registry: Arc<Mutex<Registry>>,
}

struct Registry {
    dir: PathBuf,
    /// Module sha256 -> instances created so far.
    counts: HashMap<String, u32>,
    /// Trace name -> the module sha256 using it.
    names: HashMap<String, String>,
    instances: Vec<Shared>,
    /// Modules whose original bytes were written.
    written: HashSet<String>,
    foreigners: Foreigners,
    keep_returns: bool,
}

/// A new instance's module, number and trace path.
struct Reserved {
    origin: Arc<Origin>,
    number: u32,
    path: PathBuf,
}

/// The module an instance records.
struct Origin {
    sha256: String,
    name: String,
    bytes: Arc<[u8]>,
}

fn registry(registry: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Recorder {
    pub fn new(dir: impl Into<PathBuf>) -> Recorder {
        let registry = Registry {
            dir: dir.into(),
            counts: HashMap::new(),
            names: HashMap::new(),
            instances: Vec::new(),
            written: HashSet::new(),
            foreigners: Foreigners::default(),
            keep_returns: false,
        };
        Recorder { registry: Arc::new(Mutex::new(registry)) }
    }

    /// Instances created from now on write every `export_return`, also those the next
    /// `export_call` implies, so that the values every export returned are in the trace.
    pub fn keep_returns(self) -> Recorder {
        registry(&self.registry).keep_returns = true;
        self
    }

    pub fn dir(&self) -> PathBuf {
        registry(&self.registry).dir.clone()
    }

    /// Instantiates `module` in `store` for recording; `imports` satisfy the ORIGINAL module's
    /// imports ([`RecordingModule::imports`]), in order. A failed instantiation writes no
    /// trace and frees its instance number.
    pub fn instantiate<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &RecordingModule,
        imports: &[Extern],
    ) -> Result<RecordedInstance, NativeError> {
        if !Engine::same(store.as_context().engine(), module.module.engine()) {
            return Err(NativeError::Engine { module: module.label() });
        }
        let reserved = self.reserve(module)?;
        let started = self.start_recording(&mut store, module, imports, &reserved);
        if started.is_err() {
            self.release(&reserved.origin.sha256, reserved.number);
        }
        started
    }

    /// The original module (now, not when finished: the process may not get that far), the
    /// trace's header, then the instance.
    fn start_recording<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        module: &RecordingModule,
        imports: &[Extern],
        reserved: &Reserved,
    ) -> Result<RecordedInstance, NativeError> {
        let Reserved { origin, number, path } = reserved;
        self.write_original(origin)?;
        let header = Header { version: VERSION, module_sha256: origin.sha256.clone(), instance: *number };
        let label = format!("{} instance {number}", origin.name);
        let (foreigners, keep_returns) = {
            let registry = registry(&self.registry);
            (registry.foreigners.clone(), registry.keep_returns)
        };
        let mut ctx = Context::create(
            label,
            &header,
            path.clone(),
            module.metadata.imported_functions,
            foreigners.clone(),
        )?;
        ctx.keep_returns = keep_returns;
        let ctx = Arc::new(Mutex::new(ctx));
        foreigners.add_context(&ctx);
        match instantiate_linked(&mut store, &ctx, module, imports) {
            Ok((instance, exports)) => {
                registry(&self.registry).instances.push(ctx.clone());
                Ok(RecordedInstance { ctx, origin: origin.clone(), instance, exports, number: *number })
            }
            Err(error) => {
                lock(&ctx).discard();
                Err(error)
            }
        }
    }

    /// `<dir>/<name>.wasm`, once per module.
    fn write_original(&self, origin: &Origin) -> Result<(), NativeError> {
        let path = {
            let mut registry = registry(&self.registry);
            if !registry.written.insert(origin.sha256.clone()) {
                return Ok(());
            }
            registry.dir.join(format!("{}.wasm", origin.name))
        };
        wasabi::output::write_atomically(&path, |out| out.write_all(&origin.bytes))
            .map_err(|error| NativeError::Output { path: error.path, source: error.source })
    }

    /// Finishes every instance not finished yet, in instantiation order; returns their traces.
    /// Instances keep running, unrecorded. On failures, the first error (after trying all).
    pub fn finish(&self, mut store: impl AsContextMut) -> Result<Vec<PathBuf>, NativeError> {
        let instances = registry(&self.registry).instances.clone();
        let mut traces = Vec::new();
        let mut failure = None;
        for ctx in instances {
            if lock(&ctx).is_finished() {
                continue;
            }
            let finished = lock(&ctx).finish(&mut store);
            match finished {
                Ok(path) => traces.push(path),
                Err(error) => failure = failure.or(Some(error)),
            }
        }
        failure.map_or(Ok(traces), Err)
    }

    /// The trace name, instance number and trace path of a new instance of `module`.
    fn reserve(&self, module: &RecordingModule) -> Result<Reserved, NativeError> {
        let mut registry = registry(&self.registry);
        std::fs::create_dir_all(&registry.dir)
            .map_err(|source| NativeError::Output { path: registry.dir.clone(), source })?;
        let sha256 = module.metadata.module_sha256.clone();
        let mut name: String = module
            .label()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' })
            .collect();
        // Two different modules of the same name must not overwrite each other's traces.
        if registry.names.get(&name).is_some_and(|owner| *owner != sha256) {
            name = format!("{name}-{}", &sha256[..8.min(sha256.len())]);
        }
        registry.names.insert(name.clone(), sha256.clone());
        let count = registry.counts.entry(sha256.clone()).or_insert(0);
        let number = *count;
        *count += 1;
        let path = registry.dir.join(format!("{name}-{number}.r3"));
        let origin = Arc::new(Origin { sha256, name, bytes: module.original.clone() });
        Ok(Reserved { origin, number, path })
    }

    /// Frees the number of an instance that failed, unless a later one took a number since.
    fn release(&self, sha256: &str, number: u32) {
        let mut registry = registry(&self.registry);
        if let Some(count) = registry.counts.get_mut(sha256).filter(|count| **count == number + 1) {
            *count = number;
        }
    }
}

fn instantiate_linked<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    module: &RecordingModule,
    imports: &[Extern],
) -> Result<(Instance, HostExports), NativeError> {
    let externs = link::link(&mut store, ctx, module, imports)?;
    let instance = Instance::new(&mut store, &module.module, &externs)
        .map_err(|error| NativeError::Instantiate { module: module.label(), error })?;
    let exports = link::adopt(&mut store, ctx, module, instance)?;
    Ok((instance, exports))
}

/// Exports by name, functions as recording wrappers.
type HostExports = Vec<(String, Extern)>;

/// A recorded instance, as the host sees it.
#[derive(Clone)]
pub struct RecordedInstance {
    ctx: Shared,
    origin: Arc<Origin>,
    instance: Instance,
    exports: Vec<(String, Extern)>,
    number: u32,
}

impl RecordedInstance {
    /// The exports in export order, functions replaced by recording wrappers; linking these
    /// into another module records that module's calls as export calls.
    pub fn exports(&self) -> &[(String, Extern)] {
        &self.exports
    }

    pub fn get_export(&self, name: &str) -> Option<Extern> {
        self.exports.iter().find(|(export, _)| export == name).map(|(_, export)| export.clone())
    }

    /// The recording wrapper of an exported function.
    pub fn get_func(&self, name: &str) -> Option<Func> {
        self.get_export(name)?.into_func()
    }

    /// Calls an exported function, recorded.
    pub fn call(
        &self,
        store: impl AsContextMut,
        name: &str,
        args: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        let func =
            self.get_func(name).ok_or_else(|| wasmtime::format_err!("no exported function {name:?}"))?;
        func.call(store, args, results)
    }

    /// Calls any function of the instance (e.g. read from one of its tables), recorded; a
    /// function that is not the instance's own is just called.
    pub fn call_func<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        func: Func,
        args: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        let func = self.host_func(&mut store, func);
        func.call(store, args, results)
    }

    /// The host's view of a function: the recording wrapper if it is one of the instance's own
    /// functions, else the function itself.
    pub fn host_func<T: 'static>(&self, store: impl AsContextMut<Data = T>, func: Func) -> Func {
        calls::host_view(store, &self.ctx, func)
    }

    /// The instrumented instance itself; calls through it are NOT recorded.
    pub fn instance(&self) -> Instance {
        self.instance
    }

    /// The instance number of this module (from 0).
    pub fn number(&self) -> u32 {
        self.number
    }

    pub fn module_sha256(&self) -> &str {
        &self.origin.sha256
    }

    /// Where the trace goes when finished.
    pub fn trace_path(&self) -> PathBuf {
        lock(&self.ctx).path().clone()
    }

    /// The warnings the recording gave so far (each kind once, also printed to stderr), e.g.
    /// that functions of other instances crossed the boundary and were recorded as null.
    pub fn warnings(&self) -> Vec<String> {
        lock(&self.ctx).warnings().to_vec()
    }

    /// Ends the recording (`end` event) and writes the trace; the instance keeps running,
    /// unrecorded.
    pub fn finish(&self, store: impl AsContextMut) -> Result<PathBuf, NativeError> {
        lock(&self.ctx).finish(store)
    }
}
