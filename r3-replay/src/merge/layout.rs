//! Where the host's functions go in the merged module: the implementations of the original's
//! imported functions take those functions' indices, the rest follow the original's
//! functions, then the trapping `throw`, the host values' `extern` and the start function.

use super::exports::HostExports;
use super::resolve::{HostFunction, Resolution, function_count};
use wasabi_wasm::{Export, Module};

/// What becomes of one function the original imports.
#[derive(Debug, Clone, Copy)]
pub(super) enum ImportBody {
    /// The host's defined function at this position (in `Module::functions`) moves here.
    Moved(usize),
    /// A function calling this merged function: the implementation is a host import, or a
    /// host function that implements an earlier import too.
    Forward(u32),
}

#[derive(Debug)]
pub(super) struct Layout {
    /// The merged index of every host function, in the host's index order (imports first).
    functions: Vec<u32>,
    host_imported: usize,
    /// The first merged index after the original's functions.
    first_appended: u32,
    /// For each function the original imports, in function index order.
    pub import_bodies: Vec<ImportBody>,
    /// The index of the trapping function, if the host imports `throw`.
    pub throw: Option<u32>,
    /// The index of the function making host values, if the host imports `extern`.
    pub extern_ref: Option<u32>,
}

impl Layout {
    pub(super) fn new(
        host: &Module,
        original: &Module,
        resolution: &Resolution,
        exports: &HostExports,
    ) -> Self {
        let host_imported = host.num_imported_functions() as usize;
        let mut defined: Vec<Option<u32>> = vec![None; host.functions.len()];
        // Forward targets are host indices until every host function has its place.
        let mut import_bodies = Vec::new();
        for (index, &implementation) in exports.implementations.iter().enumerate() {
            let position = (implementation as usize).checked_sub(host_imported);
            match position {
                Some(position) if defined[position].is_none() => {
                    defined[position] = Some(index as u32);
                    import_bodies.push(ImportBody::Moved(position));
                }
                _ => import_bodies.push(ImportBody::Forward(implementation)),
            }
        }
        let first_appended = function_count(original);
        let mut next = first_appended;
        for slot in defined.iter_mut().filter(|slot| slot.is_none()) {
            *slot = Some(next);
            next += 1;
        }
        let mut added = |function| {
            resolution.functions.contains(&function).then(|| {
                next += 1;
                next - 1
            })
        };
        let throw = added(HostFunction::Throw);
        let extern_ref = added(HostFunction::Extern);
        let imported = resolution.functions.iter().map(|function| match function {
            HostFunction::Original(index) => *index,
            HostFunction::Throw => throw.expect("resolved"),
            HostFunction::Extern => extern_ref.expect("resolved"),
        });
        let functions: Vec<u32> = imported.chain(defined.into_iter().flatten()).collect();
        for body in &mut import_bodies {
            if let ImportBody::Forward(implementation) = body {
                *implementation = functions[*implementation as usize];
            }
        }
        Layout { functions, host_imported, first_appended, import_bodies, throw, extern_ref }
    }

    /// The merged index of host function `index`.
    pub(super) fn function(&self, index: u32) -> u32 {
        self.functions[index as usize]
    }

    /// A host export, renumbered.
    pub(super) fn export(&self, export: &Export) -> Export {
        Export { index: self.function(export.index), ..export.clone() }
    }

    /// Whether the host's defined function at `position` goes after the original's functions.
    pub(super) fn is_appended(&self, position: usize) -> bool {
        self.functions[self.host_imported + position] >= self.first_appended
    }

    /// The names of the host's defined functions, by merged index.
    pub(super) fn host_function_names(&self, host: &Module) -> Vec<(u32, String)> {
        let defined = host.names.functions.iter().filter(|(index, _)| **index as usize >= self.host_imported);
        defined.map(|(index, name)| (self.function(*index), name.clone())).collect()
    }
}
