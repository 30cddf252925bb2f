//! Wasm values as the trace records them, and as the recorder remembers them to notice host
//! changes. References need care: a funcref is recorded as the function's index in the
//! original module, an externref as an id numbered by first appearance.

use std::collections::HashMap;
use wasmtime::{AsContextMut, ExternRef, Func, OwnedRooted, Ref, Rooted, Table, Val};

/// What the module last had in a global or table entry, compared bit-exactly and by reference
/// identity (never by the value recorded, so that remembering assigns no ids).
#[derive(Clone)]
pub enum Snap {
    Bits(u128),
    /// The function's `VMFuncRef` address; 0 is null.
    Func(usize),
    Extern(Option<OwnedRooted<ExternRef>>),
}

impl Snap {
    pub fn null(func: bool) -> Snap {
        if func { Snap::Func(0) } else { Snap::Extern(None) }
    }

    pub fn of_val(mut store: impl AsContextMut, val: &Val) -> Snap {
        match (bits(val), val) {
            (Some(bits), _) => Snap::Bits(bits),
            (None, Val::FuncRef(func)) => Snap::of_ref(&mut store, &Ref::Func(*func)),
            (None, Val::ExternRef(r)) => Snap::of_ref(&mut store, &Ref::Extern(*r)),
            // Wasm 2.0 modules hold no other references.
            (None, _) => Snap::Extern(None),
        }
    }

    pub fn of_ref(mut store: impl AsContextMut, value: &Ref) -> Snap {
        match value {
            Ref::Func(func) => Snap::Func(func_key(&mut store, func.as_ref())),
            Ref::Extern(r) => Snap::Extern(r.and_then(|r| r.to_owned_rooted(&mut store).ok())),
            _ => Snap::Extern(None),
        }
    }

    /// Whether `val` is still what was remembered; takes no new roots for the common answer.
    pub fn same_val(&self, store: impl AsContextMut, val: &Val) -> bool {
        match (bits(val), val) {
            (Some(bits), _) => matches!(self, Snap::Bits(known) if *known == bits),
            (None, Val::FuncRef(func)) => self.same_ref(store, &Ref::Func(*func)),
            (None, Val::ExternRef(r)) => self.same_ref(store, &Ref::Extern(*r)),
            (None, _) => matches!(self, Snap::Extern(None)),
        }
    }

    pub fn same_ref(&self, store: impl AsContextMut, value: &Ref) -> bool {
        match (self, value) {
            (Snap::Func(known), Ref::Func(func)) => *known == func_key(store, func.as_ref()),
            (Snap::Extern(None), Ref::Extern(None)) => true,
            (Snap::Extern(Some(known)), Ref::Extern(Some(r))) => {
                Rooted::ref_eq(store, known, r).unwrap_or(false)
            }
            _ => false,
        }
    }
}

/// The bits of a number or vector, `None` for references.
fn bits(val: &Val) -> Option<u128> {
    match val {
        Val::I32(v) => Some(*v as u32 as u128),
        Val::I64(v) => Some(*v as u64 as u128),
        Val::F32(bits) => Some(*bits as u128),
        Val::F64(bits) => Some(*bits as u128),
        Val::V128(v) => Some(v.as_u128()),
        _ => None,
    }
}

/// Identity of a function within its store.
pub fn func_key(store: impl AsContextMut, func: Option<&Func>) -> usize {
    func.map_or(0, |func| func.to_raw(store) as usize)
}

/// The entries of a table, for comparing later.
pub fn snapshot_table(mut store: impl AsContextMut, table: Table, func: bool) -> Vec<Snap> {
    let size = table.size(&store);
    (0..size)
        .map(|i| match table.get(&mut store, i) {
            Some(value) => Snap::of_ref(&mut store, &value),
            None => Snap::null(func),
        })
        .collect()
}

/// Host values numbered from 0 in order of first appearance. The recorder keeps every
/// numbered reference alive, so an address cannot be reused by a later, different value.
#[derive(Default)]
pub struct ExternIds {
    /// By the address of the host data; values without (or with zero-sized) host data share
    /// addresses and are told apart by reference identity instead.
    by_data: HashMap<usize, u64>,
    by_identity: Vec<(OwnedRooted<ExternRef>, u64)>,
    alive: Vec<OwnedRooted<ExternRef>>,
    next: u64,
}

impl ExternIds {
    pub fn id(&mut self, mut store: impl AsContextMut, r: &Rooted<ExternRef>) -> u64 {
        let next = self.next;
        let data = r.data(store.as_context()).ok().flatten();
        if let Some(data) = data.filter(|data| size_of_val(*data) > 0) {
            let address = (data as *const (dyn std::any::Any + Send + Sync)).cast::<()>() as usize;
            if let Some(&id) = self.by_data.get(&address) {
                return id;
            }
            if let Ok(owned) = r.to_owned_rooted(&mut store) {
                self.alive.push(owned);
            }
            self.by_data.insert(address, next);
            self.next += 1;
            return next;
        }
        for (known, id) in &self.by_identity {
            if Rooted::ref_eq(&store, r, known).unwrap_or(false) {
                return *id;
            }
        }
        if let Ok(owned) = r.to_owned_rooted(&mut store) {
            self.by_identity.push((owned, next));
        }
        self.next += 1;
        next
    }
}
