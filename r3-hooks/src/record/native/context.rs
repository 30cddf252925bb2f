//! The recording context of one instance: its trace, who has control, and what the module
//! last had of everything the host can change, to notice those changes at host -> module
//! transitions.
//!
//! Terms as in the JS recorder: the module "has control" while its code runs (from an export
//! call or its start function until it returns, except while one of its imports runs);
//! otherwise the host has.

use super::NativeError;
use super::foreign::{Foreigners, Unwrapped, value_type};
use super::values::{ExternIds, Snap, func_key, snapshot_table};
use crate::trace::{Encoding, Event, Header, TraceWriter, Value};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use wasmtime::{AsContextMut, Func, Global, Memory, Ref, RootScope, Table, Val};

pub type Shared = Arc<Mutex<Context>>;

/// A poisoned lock only means a panic elsewhere; the recording state itself stays usable.
pub fn lock(ctx: &Shared) -> MutexGuard<'_, Context> {
    ctx.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Memory 0 and its shadow, when the host can reach memory 0.
#[derive(Clone, Copy)]
pub struct Memories {
    pub memory: Memory,
    pub shadow: Memory,
    /// Memory byte `a` is shadow byte `a + offset`.
    pub offset: u64,
}

impl Memories {
    /// The shadow is this many pages larger than memory 0, to make room for the offset.
    pub fn extra_pages(offset: u64) -> u64 {
        offset.div_ceil(PAGE)
    }
}

const PAGE: u64 = 65536;

struct TrackedGlobal {
    index: u32,
    global: Global,
    last: Snap,
}

struct TrackedTable {
    index: u32,
    table: Table,
    func: bool,
    entries: Vec<Snap>,
}

/// The trace file, written to a temporary name until the recording finishes.
struct TraceFile {
    writer: Option<TraceWriter<BufWriter<File>>>,
    temp: PathBuf,
    path: PathBuf,
}

pub struct Context {
    /// `<name> instance <n>`, for warnings.
    label: String,
    file: TraceFile,
    pub recording: bool,
    pub control: bool,
    /// Original function indices below this are imports: the host's own functions.
    pub imported_functions: u32,
    /// Root-cause address of the error the last import raised while it unwinds the module.
    thrown: Option<usize>,
    /// Call events written, part of `end.naive_events`.
    calls: u64,
    /// The last event, held back while nothing followed it, if the next event may imply it
    /// (the call-stack optimisation): an `import_call` (or `foreign_call`) is left out if its
    /// return or throw comes next, an `export_return` if an `export_call` does.
    held: Option<Event>,
    /// Whether every `export_return` is written, also those an `export_call` implies.
    pub keep_returns: bool,
    pub memory: Option<Memories>,
    globals: Vec<TrackedGlobal>,
    tables: Vec<TrackedTable>,
    /// `__r3_functions`, once instantiated.
    functions: Option<Table>,
    /// Function identity -> original index, built from `functions` on first use.
    indices: Option<HashMap<usize, u32>>,
    /// The recording wrappers handed to the host, by original index, and back.
    wrappers: HashMap<u32, Func>,
    wrapper_indices: HashMap<usize, u32>,
    pub export_names: HashMap<u32, String>,
    /// Per function import: what calls the real import so that it sees a calling instance.
    pub forwarders: Vec<Func>,
    /// The real function imports, by index.
    pub reals: Vec<Func>,
    externs: ExternIds,
    pub foreigners: Foreigners,
    /// Foreign functions (and their wrappers) by key -> the id they are recorded as.
    foreign_ids: HashMap<usize, u64>,
    /// Foreign functions found in tables at the last host -> module transition.
    unwrapped: Vec<Unwrapped>,
    naive: Option<Global>,
    warned: HashSet<&'static str>,
    /// The warnings given, in order.
    warnings: Vec<String>,
    /// The first failure writing the trace; recording stopped there.
    failure: Option<NativeError>,
}

impl Context {
    pub fn create(
        label: String,
        header: &Header,
        path: PathBuf,
        imported_functions: u32,
        foreigners: Foreigners,
    ) -> Result<Context, NativeError> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        // Unique per process too: recorders running in parallel may share a directory.
        static TEMPS: AtomicU64 = AtomicU64::new(0);
        let unique = TEMPS.fetch_add(1, Ordering::Relaxed);
        let temp = path.with_file_name(format!(".{name}.{}-{unique}.tmp", std::process::id()));
        let output = |source| NativeError::Output { path: temp.clone(), source };
        let file = File::create(&temp).map_err(output)?;
        let writer = TraceWriter::new(BufWriter::new(file), header, Encoding::Binary)
            .map_err(|source| NativeError::Trace { path: temp.clone(), source })?;
        Ok(Context {
            label,
            file: TraceFile { writer: Some(writer), temp, path },
            recording: true,
            control: true,
            imported_functions,
            thrown: None,
            calls: 0,
            held: None,
            keep_returns: false,
            memory: None,
            globals: Vec::new(),
            tables: Vec::new(),
            functions: None,
            indices: None,
            wrappers: HashMap::new(),
            wrapper_indices: HashMap::new(),
            export_names: HashMap::new(),
            forwarders: Vec::new(),
            reals: Vec::new(),
            externs: ExternIds::default(),
            foreigners,
            foreign_ids: HashMap::new(),
            unwrapped: Vec::new(),
            naive: None,
            warned: HashSet::new(),
            warnings: Vec::new(),
            failure: None,
        })
    }

    pub fn path(&self) -> &PathBuf {
        &self.file.path
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub fn is_finished(&self) -> bool {
        self.file.writer.is_none()
    }

    pub fn emit(&mut self, event: &Event) {
        if let Some(held) = self.held.take()
            && !self.implies(event, &held)
        {
            self.write(&held);
        }
        self.write(event);
    }

    fn implies(&self, next: &Event, held: &Event) -> bool {
        match (held, next) {
            (Event::ExportReturn { .. }, Event::ExportCall { .. }) => !self.keep_returns,
            (
                Event::ImportCall { func: called, .. },
                Event::ImportReturn { func, .. } | Event::ImportThrow { func },
            ) => called == func,
            (
                Event::ForeignCall { id: called, .. },
                Event::ForeignReturn { id, .. } | Event::ForeignThrow { id },
            ) => called == id,
            _ => false,
        }
    }

    fn hold(&mut self, event: Event) {
        if let Some(previous) = self.held.replace(event) {
            self.write(&previous);
        }
        self.calls += 1;
    }

    fn write(&mut self, event: &Event) {
        let Some(writer) = self.file.writer.as_mut().filter(|_| self.recording) else { return };
        if let Err(source) = writer.event(event) {
            self.failure = Some(NativeError::Trace { path: self.file.temp.clone(), source });
            self.recording = false;
        }
    }

    /// Call events count towards the naive event total.
    pub fn emit_call(&mut self, event: &Event) {
        self.emit(event);
        self.calls += 1;
    }

    /// An `import_call`, held back until something else happens while the import runs (a
    /// re-entrant export call): if its return or throw comes first, that event implies it.
    pub fn open_import(&mut self, call: Event) {
        self.hold(call);
    }

    /// An `export_return`, held back until the next event: an `export_call` implies it.
    pub fn export_returned(&mut self, results: Vec<Value>) {
        self.hold(Event::ExportReturn { results });
    }

    pub fn warn_once(&mut self, key: &'static str, message: &str) {
        if self.warned.insert(key) {
            eprintln!("r3: {} {message}", self.label);
            self.warnings.push(message.to_string());
        }
    }

    // ---- values

    pub fn value(&mut self, mut store: impl AsContextMut, val: &Val) -> Value {
        match val {
            Val::I32(v) => Value::I32(*v),
            Val::I64(v) => Value::I64(*v),
            Val::F32(bits) => Value::F32(*bits),
            Val::F64(bits) => Value::F64(*bits),
            Val::V128(v) => Value::V128(v.as_u128().to_le_bytes()),
            Val::FuncRef(func) => self.func_value(&mut store, func.as_ref()),
            Val::ExternRef(r) => Value::ExternRef(r.map(|r| self.externs.id(&mut store, &r))),
            _ => {
                self.warn_once("gc-ref", "got a reference of a type beyond Wasm 2.0; it is recorded as null");
                Value::ExternRef(None)
            }
        }
    }

    pub fn values(&mut self, mut store: impl AsContextMut, vals: &[Val]) -> Vec<Value> {
        vals.iter().map(|val| self.value(&mut store, val)).collect()
    }

    pub fn extern_id(&mut self, store: impl AsContextMut, r: &wasmtime::Rooted<wasmtime::ExternRef>) -> u64 {
        self.externs.id(store, r)
    }

    fn ref_value(&mut self, mut store: impl AsContextMut, value: &Ref) -> Value {
        match value {
            Ref::Func(func) => self.func_value(&mut store, func.as_ref()),
            Ref::Extern(r) => Value::ExternRef(r.map(|r| self.externs.id(&mut store, &r))),
            _ => Value::ExternRef(None),
        }
    }

    /// A function of this instance by its index, any other by its foreign id.
    fn func_value(&mut self, mut store: impl AsContextMut, func: Option<&Func>) -> Value {
        let Some(func) = func else { return Value::FuncRef(None) };
        let target = self.foreigners.target(&mut store, *func);
        match self.index_of(&mut store, &target) {
            Some(index) => Value::FuncRef(Some(index)),
            None => Value::Foreign(self.foreign_id(store, &target)),
        }
    }

    /// The id of a foreign function, declared with a `foreign` event the first time.
    pub fn foreign_id(&mut self, mut store: impl AsContextMut, func: &Func) -> u64 {
        let key = func_key(&mut store, Some(func));
        if let Some(&id) = self.foreign_ids.get(&key) {
            return id;
        }
        let id = self.foreign_ids.len() as u64;
        self.foreign_ids.insert(key, id);
        let ty = func.ty(&store);
        let params = ty.params().map(|ty| value_type(&ty)).collect();
        let results = ty.results().map(|ty| value_type(&ty)).collect();
        self.emit(&Event::Foreign { id, params, results });
        id
    }

    /// Whether `func` is one of this instance's functions (imports included).
    pub fn owns(&mut self, store: impl AsContextMut, func: &Func) -> bool {
        self.index_of(store, func).is_some()
    }

    /// Whether `func` is neither this instance's nor a wrapper of a foreign function.
    pub fn is_foreign(&mut self, mut store: impl AsContextMut, func: &Func) -> bool {
        let key = func_key(&mut store, Some(func));
        !self.foreigners.is_wrapper(key) && !self.owns(store, func)
    }

    pub fn take_unwrapped(&mut self) -> Vec<Unwrapped> {
        std::mem::take(&mut self.unwrapped)
    }

    /// A tracked table's entry now holds `wrapper`, which stands for the function recorded there.
    pub fn remember_entry(&mut self, mut store: impl AsContextMut, table: u32, index: u64, wrapper: &Func) {
        let key = func_key(&mut store, Some(wrapper));
        let target = self.foreigners.target(&mut store, *wrapper);
        if let Some(&id) = self.foreign_ids.get(&func_key(&mut store, Some(&target))) {
            self.foreign_ids.insert(key, id);
        }
        for tracked in self.tables.iter_mut().filter(|tracked| tracked.index == table) {
            if let Some(entry) = tracked.entries.get_mut(index as usize) {
                *entry = Snap::Func(key);
            }
        }
    }

    // ---- functions

    pub fn set_functions(&mut self, table: Table) {
        self.functions = Some(table);
    }

    /// The original function index of `func` if it is one of this instance's functions (or a
    /// recording wrapper of one); `None` before instantiation finished.
    pub fn index_of(&mut self, mut store: impl AsContextMut, func: &Func) -> Option<u32> {
        let key = func_key(&mut store, Some(func));
        if let Some(&index) = self.wrapper_indices.get(&key) {
            return Some(index);
        }
        if self.indices.is_none() {
            let table = self.functions?;
            let mut indices = HashMap::new();
            let mut scope = RootScope::new(&mut store);
            for i in 0..table.size(&scope) {
                if let Some(Ref::Func(Some(f))) = table.get(&mut scope, i) {
                    // One host function imported twice: the first index, as in the JS recorder.
                    indices.entry(func_key(&mut scope, Some(&f))).or_insert(i as u32);
                }
            }
            self.indices = Some(indices);
        }
        self.indices.as_ref()?.get(&key).copied()
    }

    /// The value recorded for a function remembered by its key (see [`func_key`]), if known.
    fn recorded_value(&self, key: usize) -> Option<Value> {
        if key == 0 {
            return Some(Value::FuncRef(None));
        }
        let index = self.wrapper_indices.get(&key).or_else(|| self.indices.as_ref()?.get(&key));
        match index {
            Some(&index) => Some(Value::FuncRef(Some(index))),
            None => self.foreign_ids.get(&key).map(|&id| Value::Foreign(id)),
        }
    }

    pub fn wrapper(&self, index: u32) -> Option<Func> {
        self.wrappers.get(&index).copied()
    }

    pub fn add_wrapper(&mut self, store: impl AsContextMut, index: u32, wrapper: Func) {
        self.wrapper_indices.insert(func_key(store, Some(&wrapper)), index);
        self.wrappers.insert(index, wrapper);
    }

    // ---- what the host can reach

    pub fn track_global(&mut self, mut store: impl AsContextMut, index: u32, global: Global) {
        let mut scope = RootScope::new(&mut store);
        let value = global.get(&mut scope);
        let last = Snap::of_val(&mut scope, &value);
        self.globals.push(TrackedGlobal { index, global, last });
    }

    pub fn track_table(&mut self, store: impl AsContextMut, index: u32, table: Table, func: bool) {
        let entries = snapshot_table(store, table, func);
        self.tables.push(TrackedTable { index, table, func, entries });
    }

    pub fn set_naive_counter(&mut self, global: Global) {
        self.naive = Some(global);
    }

    // ---- transitions

    /// Host -> module: what the host changed while it had control becomes visible.
    pub fn enter(&mut self, mut store: impl AsContextMut) {
        let mut scope = RootScope::new(&mut store);
        self.check_memory_size(&mut scope);
        self.check_tables(&mut scope);
        self.check_globals(&mut scope);
    }

    /// Module -> host: the state the module leaves behind, to compare against on return. The
    /// module grows the shadow with memory 0 itself, so memory needs nothing here.
    pub fn leave(&mut self, mut store: impl AsContextMut) {
        let mut scope = RootScope::new(&mut store);
        for global in &mut self.globals {
            let value = global.global.get(&mut scope);
            global.last = Snap::of_val(&mut scope, &value);
        }
        let mut tables = std::mem::take(&mut self.tables);
        for table in &mut tables {
            table.entries = snapshot_table(&mut scope, table.table, table.func);
            if table.func {
                self.forget_foreign(&mut scope, table);
            }
        }
        self.tables = tables;
    }

    /// Foreign functions a table holds that the module was not told of yet (put there before
    /// it existed, or by another instance's element segments) are remembered as null: the next
    /// host -> module transition records them.
    fn forget_foreign(&mut self, mut store: impl AsContextMut, table: &mut TrackedTable) {
        for (i, entry) in table.entries.iter_mut().enumerate() {
            if matches!(entry, Snap::Func(key) if self.recorded_value(*key).is_none())
                && let Some(Ref::Func(Some(func))) = table.table.get(&mut store, i as u64)
                && self.is_foreign(&mut store, &func)
            {
                *entry = Snap::null(true);
            }
        }
    }

    fn check_memory_size(&mut self, mut store: impl AsContextMut) {
        let Some(Memories { memory, shadow, offset }) = self.memory else { return };
        let pages = memory.size(&store);
        let needed = pages + Memories::extra_pages(offset);
        let shadow_pages = shadow.size(&store);
        if needed <= shadow_pages {
            return;
        }
        self.emit(&Event::MemoryGrow { memory: 0, pages });
        if let Err(error) = shadow.grow(&mut store, needed - shadow_pages) {
            self.warn_once("shadow", &format!("cannot grow the shadow memory ({error}); recording stops"));
            self.recording = false;
        }
    }

    /// Growth of every table first, then the changed entries, as the JS recorder orders them.
    fn check_tables(&mut self, mut store: impl AsContextMut) {
        let mut tables = std::mem::take(&mut self.tables);
        for table in &mut tables {
            let size = table.table.size(&store);
            if size > table.entries.len() as u64 {
                let init = if table.func { Value::FuncRef(None) } else { Value::ExternRef(None) };
                self.emit(&Event::TableGrow { table: table.index, size, init });
                table.entries.resize(size as usize, Snap::null(table.func));
            }
        }
        for table in &mut tables {
            for (i, entry) in table.entries.iter_mut().enumerate() {
                let Some(current) = table.table.get(&mut store, i as u64) else { continue };
                if entry.same_ref(&mut store, &current) {
                    continue;
                }
                let value = self.ref_value(&mut store, &current);
                // E.g. a wrapper replaced by the function it stands for: nothing a replay could
                // tell apart, so no event.
                let unchanged =
                    matches!(&*entry, Snap::Func(key) if self.recorded_value(*key) == Some(value));
                if !unchanged {
                    self.emit(&Event::TableSet { table: table.index, index: i as u64, value });
                }
                *entry = Snap::of_ref(&mut store, &current);
                if let (Value::Foreign(_), Ref::Func(Some(func))) = (value, &current)
                    && !self.foreigners.is_wrapper(func_key(&mut store, Some(func)))
                {
                    let unwrapped =
                        Unwrapped { table: table.table, tracked: table.index, index: i as u64, func: *func };
                    self.unwrapped.push(unwrapped);
                }
            }
        }
        self.tables = tables;
    }

    fn check_globals(&mut self, mut store: impl AsContextMut) {
        let mut globals = std::mem::take(&mut self.globals);
        for global in &mut globals {
            let current = global.global.get(&mut store);
            if !global.last.same_val(&mut store, &current) {
                let value = self.value(&mut store, &current);
                self.emit(&Event::GlobalSet { global: global.index, value });
                global.last = Snap::of_val(&mut store, &current);
            }
        }
        self.globals = globals;
    }

    // ---- failing calls

    pub fn note_thrown(&mut self, error: &wasmtime::Error) {
        self.thrown = Some(error_key(error));
    }

    /// Whether `error` is the host error an import threw (not a trap).
    pub fn is_thrown(&self, error: &wasmtime::Error) -> bool {
        self.thrown == Some(error_key(error))
    }

    /// `export_throw` if `error` is what an import of this module raised, else `export_trap`.
    pub fn export_failed(&mut self, error: &wasmtime::Error) {
        let event = if self.is_thrown(error) {
            Event::ExportThrow
        } else {
            Event::ExportTrap { message: trap_message(error) }
        };
        self.thrown = None;
        self.emit_call(&event);
    }

    // ---- the end

    /// Writes `end` and moves the trace into place; afterwards the instance runs unrecorded.
    pub fn finish(&mut self, mut store: impl AsContextMut) -> Result<PathBuf, NativeError> {
        if let Some(failure) = self.failure.take() {
            self.discard();
            return Err(failure);
        }
        let naive = self.naive.map_or(0, |global| global.get(&mut store).i64().unwrap_or(0) as u64);
        self.emit(&Event::End { naive_events: naive.wrapping_add(self.calls) });
        self.recording = false;
        if let Some(failure) = self.failure.take() {
            self.discard();
            return Err(failure);
        }
        let Some(writer) = self.file.writer.take() else { return Err(NativeError::Finished) };
        let temp = self.file.temp.clone();
        writer.finish().map_err(|source| NativeError::Trace { path: temp.clone(), source })?;
        std::fs::rename(&temp, &self.file.path)
            .map_err(|source| NativeError::Output { path: self.file.path.clone(), source })?;
        Ok(self.file.path.clone())
    }

    /// Stops recording and removes the unfinished trace (failed instantiation, dropped store).
    pub fn discard(&mut self) {
        self.recording = false;
        self.control = false;
        if self.file.writer.take().is_some() {
            let _ = std::fs::remove_file(&self.file.temp);
        }
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Identity of an error as it travels from an import's host code through the module to the
/// export call: the address of its root cause, which wrapping in context does not move.
fn error_key(error: &wasmtime::Error) -> usize {
    (error.root_cause() as *const dyn std::error::Error).cast::<()>() as usize
}

fn trap_message(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => trap.to_string(),
        None => error.to_string(),
    }
}
