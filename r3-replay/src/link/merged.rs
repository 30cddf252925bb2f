//! Running a merged `replay.wasm`: it imports nothing and runs `r3_init` from its start
//! function, so running it is instantiating it and calling its segments.

use super::LinkError;
use super::runner::{SegmentReport, run_segments};
use crate::section::{Expect, ReplaySection, Segment};
use r3_hooks::wasmtime::{Instance, Module, Store};
use std::path::Path;

/// Runs the merged module at `path`: the segments its `r3-replay` section lists, or `_start`
/// (expected to return) if it has none.
pub fn run_merged(path: &Path) -> Result<Vec<SegmentReport>, LinkError> {
    let bytes = std::fs::read(path).map_err(|error| LinkError::Read { path: path.to_path_buf(), error })?;
    let section = ReplaySection::read(&bytes)
        .map_err(|error| LinkError::Section { path: path.to_path_buf(), error })?;
    let engine = super::engine();
    let module = Module::new(&engine, &bytes).map_err(|error| compile_error(path, error))?;
    if let Some(import) = module.imports().next() {
        return Err(LinkError::Interface(format!(
            "{} imports {}.{}, but a merged replay imports nothing",
            path.display(),
            import.module(),
            import.name()
        )));
    }
    let mut store = Store::new(&engine, ());
    let instance = Instance::new(&mut store, &module, &[])
        .map_err(|error| LinkError::Instantiate { what: path.display().to_string(), error })?;
    let segments = match section {
        Some(section) => section.segments,
        None => vec![Segment { export: "_start".into(), expect: Expect::Return }],
    };
    Ok(run_segments(&mut store, instance, &segments, true))
}

fn compile_error(path: &Path, error: r3_hooks::wasmtime::Error) -> LinkError {
    LinkError::Compile { what: path.display().to_string(), error }
}
