//! The functions through which control crosses the boundary of a recorded instance: wrappers
//! of its imports (module -> host), wrappers of its functions for the host (host -> module),
//! and `__r3.sync`. Each is a host function of the store, so the host can link them like any
//! function, also into other modules.

use super::context::{Context, Memories, Shared, lock};
use super::sync::{differing_runs, window};
use crate::trace::{Event, Run, Value};
use std::borrow::Cow;
use wasmtime::{AsContext, AsContextMut, Caller, Func, FuncType, Val};

/// Records the calls of import `k` made while the module has control; the host calling the
/// function itself (e.g. read from a table) is just forwarded.
pub fn import_wrapper<T: 'static>(
    store: impl AsContextMut<Data = T>,
    ctx: Shared,
    k: u32,
    real: Func,
    ty: FuncType,
) -> Func {
    Func::new(store, ty, move |mut caller, params, results| {
        if !lock(&ctx).control {
            return real.call(&mut caller, params, results);
        }
        // Also once the recording finished: the import still needs to see its caller.
        let target = lock(&ctx).forwarders.get(k as usize).copied().unwrap_or(real);
        call_out(&mut caller, &ctx, CallOut::Import(k), target, params, results)
    })
}

/// What the module calls outside itself.
#[derive(Clone, Copy)]
pub enum CallOut {
    /// Import `k`.
    Import(u32),
    /// The foreign function of this id.
    Foreign(u64),
}

impl CallOut {
    fn call(self, args: Vec<Value>) -> Event {
        match self {
            CallOut::Import(func) => Event::ImportCall { func, args },
            CallOut::Foreign(id) => Event::ForeignCall { id, args },
        }
    }

    fn returned(self, results: Vec<Value>) -> Event {
        match self {
            CallOut::Import(func) => Event::ImportReturn { func, results },
            CallOut::Foreign(id) => Event::ForeignReturn { id, results },
        }
    }

    fn threw(self) -> Event {
        match self {
            CallOut::Import(func) => Event::ImportThrow { func },
            CallOut::Foreign(id) => Event::ForeignThrow { id },
        }
    }
}

/// A call the module, having control, makes to `target` outside itself: the host has control
/// until it returns.
pub fn call_out<T: 'static>(
    caller: &mut Caller<'_, T>,
    ctx: &Shared,
    callee: CallOut,
    target: Func,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let recording = {
        let mut c = lock(ctx);
        if c.recording {
            let args = c.values(&mut *caller, params);
            c.open_import(callee.call(args));
            c.leave(&mut *caller);
        }
        c.control = false;
        c.recording
    };
    let params = if recording { hand_out(caller, ctx, params) } else { Cow::Borrowed(params) };
    let outcome = target.call(&mut *caller, &params, results);
    let foreigners = {
        let mut c = lock(ctx);
        c.control = true;
        if !c.recording {
            return outcome;
        }
        match &outcome {
            Ok(()) => {
                let values = c.values(&mut *caller, results);
                c.emit_call(&callee.returned(values));
            }
            Err(error) => {
                // The host may have changed things before it failed, and the module, unwinding,
                // has control again: a host -> module transition like a return.
                c.emit_call(&callee.threw());
                c.note_thrown(error);
            }
        }
        c.enter(&mut *caller);
        c.foreigners.clone()
    };
    foreigners.wrap_found(&mut *caller, ctx);
    if outcome.is_ok() {
        foreigners.hand_in(&mut *caller, ctx, results);
    }
    outcome
}

/// The host's view of function `index` of the instance: a host function recording each call
/// the host makes (cached, one per function).
pub fn export_wrapper<T: 'static>(
    mut store: impl AsContextMut<Data = T>,
    ctx: &Shared,
    index: u32,
    real: Func,
) -> Func {
    if let Some(wrapper) = lock(ctx).wrapper(index) {
        return wrapper;
    }
    let ty = real.ty(&store);
    let shared = ctx.clone();
    let wrapper = Func::new(&mut store, ty, move |mut caller, params, results| {
        call_export(&mut caller, &shared, index, real, params, results)
    });
    lock(ctx).add_wrapper(&mut store, index, wrapper);
    wrapper
}

fn call_export<T: 'static>(
    caller: &mut Caller<'_, T>,
    ctx: &Shared,
    index: u32,
    real: Func,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let foreigners = {
        let mut c = lock(ctx);
        // With control, the module itself calls a wrapper it was handed: no host call.
        if c.control {
            drop(c);
            return real.call(caller, params, results);
        }
        c.control = true;
        if c.recording {
            let name = c.export_names.get(&index).cloned().unwrap_or_default();
            let args = c.values(&mut *caller, params);
            c.emit_call(&Event::ExportCall { func: index, name, args });
            c.enter(&mut *caller);
        }
        c.recording.then(|| c.foreigners.clone())
    };
    let mut params = Cow::Borrowed(params);
    if let Some(foreigners) = foreigners {
        foreigners.wrap_found(&mut *caller, ctx);
        if params.iter().any(|val| matches!(val, Val::FuncRef(Some(_)))) {
            foreigners.hand_in(&mut *caller, ctx, params.to_mut());
        }
    }
    let outcome = real.call(&mut *caller, &params, results);
    let recording = {
        let mut c = lock(ctx);
        c.control = false;
        // Not if the recording finished meanwhile (in a nested call).
        if c.recording {
            match &outcome {
                Ok(()) => {
                    let results = c.values(&mut *caller, results);
                    c.export_returned(results);
                }
                Err(error) => {
                    if !c.is_thrown(error) {
                        take_all_host_writes(&mut c, caller);
                    }
                    c.export_failed(error)
                }
            }
            c.leave(&mut *caller);
        }
        c.recording
    };
    if recording && outcome.is_ok() {
        let handed = hand_out(caller, ctx, results).into_owned();
        results.copy_from_slice(&handed);
    }
    outcome
}

/// Values as the host gets them: functions of the instance become their recording wrappers, so
/// that the host's calls of them are recorded too.
fn hand_out<'v, T: 'static>(caller: &mut Caller<'_, T>, ctx: &Shared, vals: &'v [Val]) -> Cow<'v, [Val]> {
    if !vals.iter().any(|val| matches!(val, Val::FuncRef(Some(_)))) {
        return Cow::Borrowed(vals);
    }
    let handed = vals
        .iter()
        .map(|val| match val {
            Val::FuncRef(Some(func)) => Val::FuncRef(Some(host_view(&mut *caller, ctx, *func))),
            other => *other,
        })
        .collect();
    Cow::Owned(handed)
}

/// The recording wrapper of `func` if it is a function the instance defines; anything else
/// (imports are the host's own) as it is.
pub fn host_view<T: 'static>(mut store: impl AsContextMut<Data = T>, ctx: &Shared, func: Func) -> Func {
    let (index, imported) = {
        let mut c = lock(ctx);
        (c.index_of(&mut store, &func), c.imported_functions)
    };
    match index {
        Some(index) if index >= imported => export_wrapper(store, ctx, index, func),
        _ => func,
    }
}

/// `__r3.sync(addr, offset, len)`.
pub fn sync_function<T: 'static>(store: impl AsContextMut<Data = T>, ctx: Shared) -> Func {
    Func::wrap(store, move |mut caller: Caller<'_, T>, addr: i32, offset: i32, len: i32| {
        sync(&mut caller, &ctx, addr, offset, len)
    })
}

/// Records each run of bytes around the read that differs from the shadow (the host wrote
/// them) and takes them into the shadow.
fn sync<T: 'static>(caller: &mut Caller<'_, T>, ctx: &Shared, addr: i32, offset: i32, len: i32) {
    let mut c = lock(ctx);
    let Some(memories) = c.memory else { return };
    let Some(range) = window(addr, offset, len, shadowed_bytes(caller, &memories)) else { return };
    take_host_writes(&mut c, caller, &memories, range);
}

/// Bytes of memory 0 that have a shadow copy.
fn shadowed_bytes<T>(caller: &Caller<'_, T>, memories: &Memories) -> u64 {
    let shadowed = (memories.shadow.data_size(caller.as_context()) as u64).saturating_sub(memories.offset);
    (memories.memory.data_size(caller.as_context()) as u64).min(shadowed)
}

/// After a trap: the module checks the loads of a straight stretch of code together at its
/// end, so some host-written bytes it read just before the trap may not be synced yet. All of
/// memory is compared instead (traps are rare).
pub fn take_all_host_writes<T>(c: &mut Context, caller: &mut Caller<'_, T>) {
    let Some(memories) = c.memory else { return };
    let range = 0..shadowed_bytes(caller, &memories);
    take_host_writes(c, caller, &memories, range);
}

fn take_host_writes<T>(
    c: &mut Context,
    caller: &mut Caller<'_, T>,
    memories: &Memories,
    range: std::ops::Range<u64>,
) {
    let Memories { memory, shadow, offset: skew } = *memories;
    let (start, end) = (range.start as usize, range.end as usize);
    let current = memory.data(caller.as_context())[start..end].to_vec();
    let skew = skew as usize;
    let saved = &mut shadow.data_mut(caller.as_context_mut())[start + skew..end + skew];
    let runs = differing_runs(&current, saved)
        .into_iter()
        .map(|run| {
            saved[run.clone()].copy_from_slice(&current[run.clone()]);
            Run { addr: (start + run.start) as u64, bytes: current[run].to_vec() }
        })
        .collect();
    if let Some(event) = Event::memory_written(0, runs) {
        c.emit(&event);
    }
}
