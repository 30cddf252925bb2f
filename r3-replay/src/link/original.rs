//! How the linker reaches the original module O: as it is ([`PlainOriginal`]), or recorded by
//! the native recorder ([`RecordedOriginal`]).

use super::LinkError;
use super::locate::FunctionMap;
use r3_hooks::record::native::{RecordedInstance, Recorder, RecordingModule};
use r3_hooks::wasmtime::{AsContextMut, Engine, Extern, ExternType, Func, Instance, Module, Ref};
use std::path::PathBuf;

/// An import of O, in import order.
#[derive(Debug, Clone)]
pub struct ImportDesc {
    pub module: String,
    pub name: String,
    pub ty: ExternType,
}

/// What the linker needs of O. `r3_call` and `r3_ref` differ only under a recorder: a call
/// through `r3_call` must be recorded as an export call, a reference from `r3_ref` is O's
/// plain function.
pub trait Original {
    fn imports(&self) -> Vec<ImportDesc>;

    /// Instantiates O; `imports` are for O's imports, in order.
    fn instantiate<T: 'static>(
        &mut self,
        store: impl AsContextMut<Data = T>,
        imports: &[Extern],
    ) -> Result<(), LinkError>;

    /// O's export `name`, for H's import `original.<name>`.
    fn export<T: 'static>(&self, store: impl AsContextMut<Data = T>, name: &str) -> Option<Extern>;

    /// Function `index` of O as H calls it (`r3_call.<index>`).
    fn call_target<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        index: u32,
    ) -> Result<Func, LinkError>;

    /// Function `index` of O as a value (`r3_ref.<index>`).
    fn ref_target<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        index: u32,
    ) -> Result<Func, LinkError>;
}

/// O instantiated as it is. Its functions are reachable by index only if it exports them or
/// puts them into an exported table (by an element segment at a constant offset).
pub struct PlainOriginal {
    module: Module,
    functions: FunctionMap,
    instance: Option<Instance>,
}

impl PlainOriginal {
    pub fn new(engine: &Engine, bytes: &[u8]) -> Result<PlainOriginal, LinkError> {
        let compile = |error| LinkError::Compile { what: "the original module".into(), error };
        let module = Module::new(engine, bytes).map_err(compile)?;
        let functions = FunctionMap::read(bytes).map_err(|error| compile(error.into()))?;
        Ok(PlainOriginal { module, functions, instance: None })
    }

    pub fn instance(&self) -> Option<Instance> {
        self.instance
    }

    fn instance_or_error(&self) -> Result<Instance, LinkError> {
        self.instance.ok_or(LinkError::NotInstantiated)
    }
}

impl Original for PlainOriginal {
    fn imports(&self) -> Vec<ImportDesc> {
        self.module
            .imports()
            .map(|import| ImportDesc {
                module: import.module().to_string(),
                name: import.name().to_string(),
                ty: import.ty(),
            })
            .collect()
    }

    fn instantiate<T: 'static>(
        &mut self,
        store: impl AsContextMut<Data = T>,
        imports: &[Extern],
    ) -> Result<(), LinkError> {
        let instance = Instance::new(store, &self.module, imports)
            .map_err(|error| LinkError::Instantiate { what: "the original module".into(), error })?;
        self.instance = Some(instance);
        Ok(())
    }

    fn export<T: 'static>(&self, mut store: impl AsContextMut<Data = T>, name: &str) -> Option<Extern> {
        self.instance?.get_export(&mut store, name)
    }

    fn call_target<T: 'static>(
        &self,
        store: impl AsContextMut<Data = T>,
        index: u32,
    ) -> Result<Func, LinkError> {
        self.ref_target(store, index)
    }

    fn ref_target<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        index: u32,
    ) -> Result<Func, LinkError> {
        let instance = self.instance_or_error()?;
        if let Some(name) = self.functions.export(index) {
            return instance.get_func(&mut store, name).ok_or(LinkError::Unreachable { index });
        }
        let (table, slot) = self.functions.placement(index).ok_or(LinkError::Unreachable { index })?;
        let table = instance.get_table(&mut store, table).ok_or(LinkError::Unreachable { index })?;
        match table.get(&mut store, slot) {
            Some(Ref::Func(Some(func))) => Ok(func),
            _ => Err(LinkError::Unreachable { index }),
        }
    }
}

/// O instrumented and run under the native recorder: H's calls of O are recorded as the
/// host's, into a trace of its own.
pub struct RecordedOriginal {
    module: RecordingModule,
    recorder: Recorder,
    instance: Option<RecordedInstance>,
}

impl RecordedOriginal {
    /// `name` names the trace (`<dir>/<name>-0.r3`).
    pub fn new(
        engine: &Engine,
        bytes: &[u8],
        name: &str,
        dir: PathBuf,
    ) -> Result<RecordedOriginal, LinkError> {
        let module = RecordingModule::new(engine, bytes, Some(name))?;
        // Every value the replay's exports return goes into its trace: `check` compares those
        // the recorded trace holds.
        let recorder = Recorder::new(dir).keep_returns();
        Ok(RecordedOriginal { module, recorder, instance: None })
    }

    pub fn recorded(&self) -> Option<&RecordedInstance> {
        self.instance.as_ref()
    }

    /// Ends the recording; returns the trace's path.
    pub fn finish(&self, store: impl AsContextMut) -> Result<PathBuf, LinkError> {
        let instance = self.instance.as_ref().ok_or(LinkError::NotInstantiated)?;
        Ok(instance.finish(store)?)
    }

    fn instance_or_error(&self) -> Result<&RecordedInstance, LinkError> {
        self.instance.as_ref().ok_or(LinkError::NotInstantiated)
    }
}

impl Original for RecordedOriginal {
    fn imports(&self) -> Vec<ImportDesc> {
        self.module
            .imports()
            .iter()
            .map(|import| ImportDesc {
                module: import.module.clone(),
                name: import.name.clone(),
                ty: import.ty.clone(),
            })
            .collect()
    }

    fn instantiate<T: 'static>(
        &mut self,
        store: impl AsContextMut<Data = T>,
        imports: &[Extern],
    ) -> Result<(), LinkError> {
        self.instance = Some(self.recorder.instantiate(store, &self.module, imports)?);
        Ok(())
    }

    /// The recorder's view: exported functions are recording wrappers, so H's calls are
    /// recorded under their export names.
    fn export<T: 'static>(&self, _store: impl AsContextMut<Data = T>, name: &str) -> Option<Extern> {
        self.instance.as_ref()?.get_export(name)
    }

    /// The recording wrapper of the function: the call is recorded with the function's export
    /// name, `""` if it has none (as the recorders name a call through a table).
    fn call_target<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        index: u32,
    ) -> Result<Func, LinkError> {
        let func = self.ref_target(&mut store, index)?;
        Ok(self.instance_or_error()?.host_func(store, func))
    }

    /// Entry `index` of the instrumented module's function table: the plain function.
    fn ref_target<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        index: u32,
    ) -> Result<Func, LinkError> {
        let instance = self.instance_or_error()?.instance();
        let table = instance
            .get_table(&mut store, wasabi::record::FUNCTION_TABLE_EXPORT)
            .ok_or(LinkError::Instrumented { what: wasabi::record::FUNCTION_TABLE_EXPORT })?;
        match table.get(&mut store, u64::from(index)) {
            Some(Ref::Func(Some(func))) => Ok(func),
            _ => Err(LinkError::Interface(format!(
                "refers to function {index}, which the original does not have"
            ))),
        }
    }
}
