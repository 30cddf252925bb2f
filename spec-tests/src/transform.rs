//! What a mode does to each module before wasmtime runs it, and which host functions it needs.
//! Modes that only transform modules add a variant here; [`Mode::R3`] also changes how the
//! driver instantiates modules (under the native recorder, see `r3.rs`).

use anyhow::{Result, bail};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmparser::WasmFeatures;
use wasmtime::{Linker, Module, Val, ValType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// decode → IR → encode → validate with wasabi_wasm.
    Roundtrip,
    /// wasabi with every hook; hooks are host functions that check their arguments and count.
    Instrument,
    /// Every instance recorded natively (the script's commands are the host), then each trace
    /// replayed and checked: the replay's own trace must equal the recorded one.
    R3,
}

impl Mode {
    /// The bytes to run instead of `bytes`, or why the module was refused.
    pub fn transform(self, bytes: &[u8], features: WasmFeatures) -> Result<Vec<u8>, String> {
        match self {
            Mode::Roundtrip => wasabi_wasm::roundtrip(bytes, features).map_err(|error| error.to_string()),
            Mode::Instrument => {
                // The suite's own feature set decides validity; instrumentation may then use
                // any Wasm 2.0 feature (e.g. a second table) in its output.
                wasabi_wasm::validate(bytes, features).map_err(|error| error.to_string())?;
                let instrumented =
                    wasabi::instrument(bytes, &wasabi::HookSet::all()).map_err(|error| error.to_string())?;
                Ok(instrumented.wasm())
            }
            // The recorder instruments the module itself when it compiles it.
            Mode::R3 => {
                wasabi_wasm::validate(bytes, features).map_err(|error| error.to_string())?;
                Ok(bytes.to_vec())
            }
        }
    }

    /// Whether instances are recorded (and their traces replayed and checked).
    pub fn records(self) -> bool {
        self == Mode::R3
    }

    /// Defines what `module` imports from the instrumentation before it is instantiated.
    pub fn link(self, linker: &mut Linker<()>, module: &Module, hook_calls: &Arc<AtomicU64>) -> Result<()> {
        if self != Mode::Instrument {
            return Ok(());
        }
        let functions = module.imports().filter(|import| import.module() == wasabi::instrument::HOOK_MODULE);
        for import in functions {
            let Some(ty) = import.ty().func().cloned() else {
                bail!("hook import {} is not a function", import.name())
            };
            let name = import.name().to_string();
            let calls = hook_calls.clone();
            linker.func_new(
                wasabi::instrument::HOOK_MODULE,
                &name.clone(),
                ty.clone(),
                move |_, args, _| {
                    check_hook_arguments(&name, &ty, args)
                        .map_err(|error| wasmtime::Error::msg(error.to_string()))?;
                    calls.fetch_add(1, Ordering::Relaxed);
                    Ok(())
                },
            )?;
        }
        Ok(())
    }
}

/// Every hook starts with its location: a function index and an instruction index (-1 for
/// the function's begin and implicit return).
fn check_hook_arguments(name: &str, ty: &wasmtime::FuncType, args: &[Val]) -> Result<()> {
    if args.len() != ty.params().len() || ty.results().len() != 0 {
        bail!("hook {name} called with {} arguments, expects {}", args.len(), ty.params().len());
    }
    for (arg, param) in args.iter().zip(ty.params()) {
        let matches = matches!(
            (arg, &param),
            (Val::I32(_), ValType::I32)
                | (Val::I64(_), ValType::I64)
                | (Val::F32(_), ValType::F32)
                | (Val::F64(_), ValType::F64)
                | (Val::FuncRef(_), ValType::Ref(_))
                | (Val::ExternRef(_), ValType::Ref(_))
        );
        if !matches {
            bail!("hook {name} got {arg:?} for a {param} parameter");
        }
    }
    match args {
        [Val::I32(func), Val::I32(instr), ..] if *func >= 0 && *instr >= -1 => Ok(()),
        _ => bail!("hook {name} called without a valid location: {:?}", &args[..args.len().min(2)]),
    }
}
