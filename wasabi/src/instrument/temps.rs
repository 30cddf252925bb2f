//! Scratch locals that hold copies of the values an instruction consumes and produces while its
//! hook is called. A copy lives only within one instruction's instrumentation, so each function
//! reuses a small pool per type instead of adding locals per site.

use super::lowlevel::Ty;
use wasabi_wasm::ValType;

pub struct Temps {
    first: u32,
    added: Vec<Ty>,
    by_type: [Vec<u32>; Ty::COUNT],
    in_use: [usize; Ty::COUNT],
    /// i32 locals that live across instructions until [`Temps::release_pinned`].
    pinned: Vec<u32>,
    pinned_in_use: usize,
}

impl Temps {
    /// `first` is the number of parameters and declared locals.
    pub fn new(first: u32) -> Self {
        Temps {
            first,
            added: Vec::new(),
            by_type: Default::default(),
            in_use: [0; Ty::COUNT],
            pinned: Vec::new(),
            pinned_in_use: 0,
        }
    }

    /// Starts a new instruction: every temp is free again.
    pub fn release_all(&mut self) {
        self.in_use = [0; Ty::COUNT];
    }

    pub fn fresh(&mut self, ty: Ty) -> u32 {
        let slot = ty as usize;
        let used = self.in_use[slot];
        self.in_use[slot] += 1;
        if let Some(&local) = self.by_type[slot].get(used) {
            return local;
        }
        let local = self.add(ty);
        self.by_type[slot].push(local);
        local
    }

    /// An i32 that stays taken across instructions, until [`Temps::release_pinned`].
    pub fn pinned(&mut self) -> u32 {
        let used = self.pinned_in_use;
        self.pinned_in_use += 1;
        if let Some(&local) = self.pinned.get(used) {
            return local;
        }
        let local = self.add(Ty::I32);
        self.pinned.push(local);
        local
    }

    pub fn release_pinned(&mut self) {
        self.pinned_in_use = 0;
    }

    /// A local of its own for the rest of the function.
    pub fn dedicated(&mut self, ty: Ty) -> u32 {
        self.add(ty)
    }

    fn add(&mut self, ty: Ty) -> u32 {
        let local = self.first + self.added.len() as u32;
        self.added.push(ty);
        local
    }

    /// The added locals, run-length encoded for the code section.
    pub fn declarations(&self) -> Vec<(u32, ValType)> {
        let mut runs: Vec<(u32, Ty)> = Vec::new();
        for &ty in &self.added {
            match runs.last_mut() {
                Some((count, last)) if *last == ty => *count += 1,
                _ => runs.push((1, ty)),
            }
        }
        runs.into_iter().map(|(count, ty)| (count, ty.val_type())).collect()
    }
}
