//! Linking the two-module form of a replay (host module H + original module O, see
//! `docs/replay.md`) on wasmtime, and running its segments.
//!
//! How the linker reaches O is an [`Original`]: [`PlainOriginal`] instantiates O as it is,
//! [`RecordedOriginal`] runs it under the native recorder so that the replay's interaction
//! with O becomes a new trace (what `r3 check` compares). Everything else is shared:
//! [`link`] creates the `r3_host` entities, instantiates O with them and with lazy forwarders
//! to H's `import/<i>` functions, then instantiates H; [`Linked::run`] runs `r3_init` and the
//! segments. The JS linker doing the same in node is [`RUN_MJS`].

mod dir;
mod host;
mod locate;
mod merged;
mod original;
mod runner;

pub use dir::ReplayDir;
pub use host::{HostException, HostValue};
pub use merged::run_merged;
pub use original::{ImportDesc, Original, PlainOriginal, RecordedOriginal};
pub use runner::{Outcome, SegmentReport, run_segments, summary};

use crate::section::{ReplaySection, SectionError};
use host::{Externs, Forwarders};
use r3_hooks::record::native::NativeError;
use r3_hooks::wasmtime::{self, AsContextMut, Engine, ExternType, Instance, Module};
use std::path::PathBuf;
use thiserror::Error;

/// The generic JS linker and runner, copied next to `host.wasm` as `run.mjs`; also runs a
/// merged `replay.wasm` given as its argument.
pub const RUN_MJS: &str = include_str!("../../js/run.mjs");

/// Runs a merged `replay.wasm` in a bare JavaScript shell (JavaScriptCore's `jsc`).
pub const RUN_SHELL: &str = include_str!("../../js/run-shell.js");

#[derive(Debug, Error)]
pub enum LinkError {
    // Causes are part of the messages, not `source`s: `{:#}` would print them twice.
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{}: {error}", path.display())]
    Section { path: PathBuf, error: SectionError },
    #[error("{} has no r3-replay custom section: not a host module", path.display())]
    NoSection { path: PathBuf },
    #[error("{} does not match the original the host module was generated for (sha256 {found}, expected {expected})", path.display())]
    OriginalMismatch { path: PathBuf, expected: String, found: String },
    #[error("cannot compile {what}: {error:#}")]
    Compile { what: String, error: wasmtime::Error },
    /// H does not follow the interface of `docs/replay.md`.
    #[error("the host module {0}")]
    Interface(String),
    #[error(
        "function {index} of the original is neither exported nor in an exported table: the native linker cannot reach it ({})",
        "r3 check, which runs the original instrumented, can"
    )]
    Unreachable { index: u32 },
    #[error("cannot instantiate {what}: {error:#}")]
    Instantiate { what: String, error: wasmtime::Error },
    #[error("the original's import {import} (a global) needs an initial value: {message}")]
    Global { import: u32, message: String },
    #[error("r3_init failed: {error:#}")]
    Init { error: wasmtime::Error },
    #[error(transparent)]
    Record(#[from] NativeError),
    #[error("the instrumented original exports no {what}")]
    Instrumented { what: &'static str },
    #[error("the original is used before it was instantiated")]
    NotInstantiated,
}

/// The engine replays run on: Wasm 2.0 plus the threads proposal's atomics (which the IR and
/// the recorder support), and GC, as host values become i31 references in merged modules.
pub fn engine() -> Engine {
    Engine::new(&config()).expect("the replay engine's configuration is valid")
}

/// The configuration of [`engine`], for an engine that differs in resource limits only.
pub fn config() -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config.wasm_threads(true).wasm_gc(true).wasm_function_references(true);
    config
}

/// H and O instantiated and linked.
pub struct Linked {
    host: Instance,
    /// `r3_init` already ran (before O, when H was linked first).
    initialized: bool,
}

/// Links H (compiled `host`) with O as `original` provides it, in the order of
/// `docs/replay.md`: `r3_host` entities, O, then H.
pub fn link<T: 'static, O: Original>(
    mut store: impl AsContextMut<Data = T>,
    host: &Module,
    section: &ReplaySection,
    original: &mut O,
) -> Result<Linked, LinkError> {
    let imports = original.imports();
    check_host_exports(host, &imports)?;
    let externs = Externs::default();
    let forwarders = Forwarders::new();
    let mut entities = host::original_imports(&mut store, host, section, &imports, &externs, &forwarders)?;
    if section.host_first {
        return link_host_first(store, host, original, &imports, &mut entities, &externs, &forwarders);
    }
    entities.check_no_foreign_globals()?;
    let entities = entities.entities;
    original.instantiate(&mut store, &entities)?;
    let host_imports =
        host::host_imports(&mut store, host, section, original, &imports, &entities, &externs)?;
    let instance = Instance::new(&mut store, host, &host_imports)
        .map_err(|error| LinkError::Instantiate { what: "the host module".into(), error })?;
    forwarders.connect(&mut store, instance, &imports)?;
    Ok(Linked { host: instance, initialized: false })
}

/// H first, calling O's functions through forwarders bound once O exists, so O's start
/// function can call its imports; `r3_init` runs before O, as the recorded host set up
/// what O imports before instantiating it.
fn link_host_first<T: 'static, O: Original>(
    mut store: impl AsContextMut<Data = T>,
    host: &Module,
    original: &mut O,
    imports: &[ImportDesc],
    entities: &mut host::OriginalImports,
    externs: &Externs,
    forwarders: &Forwarders,
) -> Result<Linked, LinkError> {
    let late = host::LateOriginal::default();
    let host_imports =
        host::host_imports_before_original(&mut store, host, imports, &entities.entities, externs, &late)?;
    let instance = Instance::new(&mut store, host, &host_imports)
        .map_err(|error| LinkError::Instantiate { what: "the host module".into(), error })?;
    forwarders.connect(&mut store, instance, imports)?;
    entities.bind_foreign_globals(&mut store, instance)?;
    let linked = Linked { host: instance, initialized: true };
    linked.init(&mut store)?;
    original.instantiate(&mut store, &entities.entities)?;
    late.bind(&mut store, host, original)?;
    Ok(linked)
}

/// Every function import `i` of O needs H's export `import/<i>` of the same type; checked
/// before anything runs.
fn check_host_exports(host: &Module, imports: &[ImportDesc]) -> Result<(), LinkError> {
    for (i, import) in imports.iter().enumerate() {
        let ExternType::Func(expected) = &import.ty else { continue };
        let name = format!("import/{i}");
        match host.get_export(&name) {
            Some(ExternType::Func(found)) if found.matches(expected) => {}
            Some(ExternType::Func(found)) => {
                return Err(LinkError::Interface(format!(
                    "exports {name} as {found}, but the original imports {}.{} as {expected}",
                    import.module, import.name
                )));
            }
            _ => {
                return Err(LinkError::Interface(format!(
                    "exports no function {name} for the original's import {}.{}",
                    import.module, import.name
                )));
            }
        }
    }
    Ok(())
}

impl Linked {
    pub fn host(&self) -> Instance {
        self.host
    }

    /// Runs `r3_init`, then every segment of `section` in order; a segment ending otherwise
    /// than expected is reported, not an error.
    pub fn run(
        &self,
        mut store: impl AsContextMut,
        section: &ReplaySection,
    ) -> Result<Vec<SegmentReport>, LinkError> {
        if !self.initialized {
            self.init(&mut store)?;
        }
        Ok(run_segments(&mut store, self.host, &section.segments, false))
    }

    fn init(&self, mut store: impl AsContextMut) -> Result<(), LinkError> {
        let init = self.host.get_typed_func::<(), ()>(&mut store, "r3_init").map_err(|error| {
            LinkError::Interface(format!("exports no r3_init of type [] -> []: {error:#}"))
        })?;
        init.call(&mut store, ()).map_err(|error| LinkError::Init { error })
    }
}
