//! (b) instrument with all hooks → validate → run the original and the instrumented module on
//! wasmtime with fuel and the same host: every call ends the same, with the same results or
//! the same trap, and the exported state is the same at the end.

use super::host::{self, Answers};
use super::{NO_MODULE, Verdict};
use std::sync::OnceLock;
use wasabi::instrument::HOOK_MODULE;
use wasabi_wasm::supported_features;
use wasmtime::{Engine, Extern, Func, Instance, Module, Store, Val};

/// Fuel for the original per call; the instrumented module gets [`FUEL_FACTOR`] times as much,
/// as each original instruction may become several (hook arguments, the hook call).
const FUEL: u64 = 20_000;
const FUEL_FACTOR: u64 = 100;

pub fn instrument(data: &[u8]) -> Result<Verdict, String> {
    let Some((bytes, mut input)) = super::generate(data, None) else {
        return Ok(Verdict::Skipped(NO_MODULE));
    };
    let instrumented = wasabi::instrument(&bytes, &wasabi::HookSet::all())
        .map_err(|error| format!("cannot instrument: {error}"))?
        .wasm();
    wasabi_wasm::validate(&instrumented, supported_features())
        .map_err(|error| format!("the instrumented module is invalid: {error}"))?;
    let original = compile(&bytes, "original")?;
    let calls = host::calls(&exported_functions(&original), &mut input);
    let answers = input.take_rest();
    let expected = run(&original, &calls, answers, FUEL)?;
    let actual = run(&compile(&instrumented, "instrumented")?, &calls, answers, FUEL * FUEL_FACTOR)?;
    compare(&expected, &actual).map(|()| Verdict::Holds)
}

/// Deterministic floats: NaN results canonical, whatever code the compiler made of them.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        config.consume_fuel(true).cranelift_nan_canonicalization(true);
        Engine::new(&config).expect("the fuzzing engine's configuration is valid")
    })
}

fn compile(bytes: &[u8], what: &str) -> Result<Module, String> {
    Module::new(engine(), bytes).map_err(|error| format!("wasmtime refuses the {what} module: {error:#}"))
}

pub(super) fn exported_functions(module: &Module) -> Vec<(String, wasmtime::FuncType)> {
    module
        .exports()
        .filter_map(|export| Some((export.name().to_string(), export.ty().func()?.clone())))
        .collect()
}

/// The outcome of instantiation, of every call up to the first that exhausted fuel or stack,
/// and the exported globals and memories after the last.
fn run(
    module: &Module,
    calls: &[(String, Vec<Val>)],
    answers: &[u8],
    fuel: u64,
) -> Result<Vec<String>, String> {
    let mut store = Store::new(engine(), ());
    let answers = Answers::new(answers);
    let imports = module
        .imports()
        .map(|import| match import.module() {
            HOOK_MODULE => {
                Ok(Extern::Func(Func::new(&mut store, import.ty().unwrap_func().clone(), |_, _, _| Ok(()))))
            }
            _ => host::import(&mut store, &import.ty(), &answers),
        })
        .collect::<Result<Vec<_>, _>>()?;
    store.set_fuel(fuel).map_err(|error| error.to_string())?;
    let instance = match Instance::new(&mut store, module, &imports) {
        Ok(instance) => instance,
        Err(error) => return Ok(vec![format!("instantiate: {}", host::outcome(Err(error), &[]))]),
    };
    let mut outcomes = Vec::new();
    for (name, args) in calls {
        store.set_fuel(fuel).map_err(|error| error.to_string())?;
        let func = instance.get_func(&mut store, name).ok_or_else(|| format!("no export {name}"))?;
        let mut results = vec![Val::I32(0); func.ty(&store).results().len()];
        let outcome = host::outcome(func.call(&mut store, args, &mut results), &results);
        outcomes.push(format!("{name}: {outcome}"));
        if host::exhausted(&outcome) {
            return Ok(outcomes);
        }
    }
    outcomes.extend(exported_state(&mut store, &instance));
    Ok(outcomes)
}

/// Exported globals by value, exported memories by size and contents.
fn exported_state(store: &mut Store<()>, instance: &Instance) -> Vec<String> {
    let exports: Vec<(String, Extern)> = instance
        .exports(&mut *store)
        .map(|export| (export.name().to_string(), export.into_extern()))
        .collect();
    exports
        .into_iter()
        .filter_map(|(name, export)| match export {
            Extern::Global(global) => {
                Some(format!("global {name}: {}", host::show(&global.get(&mut *store))))
            }
            Extern::Memory(memory) => {
                let data = memory.data(&*store);
                Some(format!("memory {name}: {} bytes, sha256 {}", data.len(), super::sha256_hex(data)))
            }
            _ => None,
        })
        .collect()
}

/// The first step where the instrumented run differs; steps after the original exhausted its
/// fuel or stack are not compared (the instrumented module uses more of both).
fn compare(expected: &[String], actual: &[String]) -> Result<(), String> {
    for (index, expected_step) in expected.iter().enumerate() {
        let actual_step = actual.get(index).map_or("(nothing)", String::as_str);
        if host::exhausted(expected_step) {
            return Ok(());
        }
        if expected_step != actual_step {
            return Err(format!("step {index}: original `{expected_step}`, instrumented `{actual_step}`"));
        }
    }
    match actual.get(expected.len()) {
        Some(extra) => Err(format!("the instrumented run has an extra step `{extra}`")),
        None => Ok(()),
    }
}
