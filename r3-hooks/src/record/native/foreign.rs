//! Functions a recorded module reaches that are not its own (dynamic linking: another
//! instance's functions in a shared table; functions the host hands over as references).
//!
//! The module calls them without crossing its boundary (`call_indirect`), so the recorder puts
//! a wrapper in their place wherever it finds them in a table the module can read: one host
//! function per foreign function, shared by all recorded instances of the store. A call of the
//! wrapper is a call of the host, like an import call, for whichever recorded instance has
//! control when it happens (`foreign_call` .. `foreign_return` in its trace); for anyone else
//! it is the function itself (through its owner's recording wrapper, so that the owner's trace
//! sees the call coming in).

use super::calls::{CallOut, call_out, host_view};
use super::context::{Context, Shared, lock};
use super::values::func_key;
use crate::trace::ValueType;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use wasmtime::{AsContextMut, Caller, Func, Table, Val, ValType};

/// Shared by all recorded instances of one recorder.
#[derive(Clone, Default)]
pub struct Foreigners {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Foreign function (by key) -> its wrapper.
    wrappers: HashMap<usize, Func>,
    /// Wrapper (by key) -> the foreign function it stands for.
    targets: HashMap<usize, Func>,
    contexts: Vec<Weak<Mutex<Context>>>,
}

/// A table entry holding a foreign function, to be replaced by its wrapper.
pub struct Unwrapped {
    pub table: Table,
    /// The table's index in the module.
    pub tracked: u32,
    pub index: u64,
    pub func: Func,
}

impl Foreigners {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_context(&self, ctx: &Shared) {
        self.state().contexts.push(Arc::downgrade(ctx));
    }

    /// The function a wrapper stands for; any other function as it is.
    pub fn target(&self, store: impl AsContextMut, func: Func) -> Func {
        let key = func_key(store, Some(&func));
        self.state().targets.get(&key).copied().unwrap_or(func)
    }

    pub fn is_wrapper(&self, key: usize) -> bool {
        self.state().targets.contains_key(&key)
    }

    fn contexts(&self) -> Vec<Shared> {
        self.state().contexts.iter().filter_map(Weak::upgrade).collect()
    }

    /// The wrapper of foreign function `func` (made once per function).
    pub fn wrapper<T: 'static>(&self, mut store: impl AsContextMut<Data = T>, func: Func) -> Func {
        let key = func_key(&mut store, Some(&func));
        if let Some(wrapper) = self.state().wrappers.get(&key) {
            return *wrapper;
        }
        let ty = func.ty(&store);
        let foreigners = self.clone();
        let wrapper = Func::new(&mut store, ty, move |mut caller, params, results| {
            foreigners.call(&mut caller, func, params, results)
        });
        let wrapper_key = func_key(&mut store, Some(&wrapper));
        let mut state = self.state();
        state.wrappers.insert(key, wrapper);
        state.targets.insert(wrapper_key, func);
        wrapper
    }

    /// Puts wrappers in place of the foreign functions the last host -> module transition
    /// found in tables.
    pub fn wrap_found<T: 'static>(&self, mut store: impl AsContextMut<Data = T>, ctx: &Shared) {
        let found = lock(ctx).take_unwrapped();
        for Unwrapped { table, tracked, index, func } in found {
            let wrapper = self.wrapper(&mut store, func);
            // The entry exists (it was just read) and the wrapper has the function's type.
            if table.set(&mut store, index, wrapper.into()).is_ok() {
                lock(ctx).remember_entry(&mut store, tracked, index, &wrapper);
            }
        }
    }

    /// Values the module is handed: foreign functions become their wrappers, so that the module
    /// calling them (after putting them in a table) is seen.
    pub fn hand_in<T: 'static>(
        &self,
        mut store: impl AsContextMut<Data = T>,
        ctx: &Shared,
        vals: &mut [Val],
    ) {
        for val in vals {
            let Val::FuncRef(Some(func)) = *val else { continue };
            if lock(ctx).is_foreign(&mut store, &func) {
                *val = Val::FuncRef(Some(self.wrapper(&mut store, func)));
            }
        }
    }

    fn call<T: 'static>(
        &self,
        caller: &mut Caller<'_, T>,
        func: Func,
        params: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        let contexts = self.contexts();
        // The function's owner, if recorded, sees the call coming in through its wrapper.
        let owner = contexts.iter().find(|ctx| lock(ctx).owns(&mut *caller, &func));
        let target = match owner {
            Some(owner) => host_view(&mut *caller, owner, func),
            None => func,
        };
        let calling = contexts.iter().find(|ctx| lock(ctx).control);
        match calling {
            Some(ctx) if owner.is_none_or(|owner| !Arc::ptr_eq(owner, ctx)) => {
                let id = lock(ctx).foreign_id(&mut *caller, &func);
                call_out(caller, ctx, CallOut::Foreign(id), target, params, results)
            }
            _ => target.call(caller, params, results),
        }
    }
}

pub fn value_type(ty: &ValType) -> ValueType {
    match ty {
        ValType::I32 => ValueType::I32,
        ValType::I64 => ValueType::I64,
        ValType::F32 => ValueType::F32,
        ValType::F64 => ValueType::F64,
        ValType::V128 => ValueType::V128,
        ValType::Ref(r) if r.heap_type().is_extern() => ValueType::ExternRef,
        ValType::Ref(_) => ValueType::FuncRef,
    }
}
