//! `r3 record [-o DIR] -- node app.mjs ...`: records every module instance of a node program.
//! `r3 record [-o DIR] app.wasm --invoke F [ARGS...]` and `r3 record [-o DIR] app.wasm -- ARGS...`:
//! records one module on wasmtime, with WASI preview1.
//! `r3 record --browser PAGE.html|URL [-o DIR]`: records a web page in headless Chromium.

use anyhow::{Context, Result, bail};
use clap::Args;
use r3_hooks::Trace;
use r3_hooks::record::native::{self, RecordedInstance, Recorder, RecordingModule};
use r3_hooks::record::{browser, node};
use r3_hooks::wasmtime::{self, Func, Store, Trap, Val, ValType};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use wasi::WasiOptions;
use wasmtime_wasi::I32Exit;

mod wasi;

#[derive(Args)]
pub struct RecordArgs {
    /// Directory for the traces (`<module>-<instance>.r3`) and copies of the original modules.
    #[arg(short, long, default_value = "r3-out")]
    output_dir: PathBuf,
    /// The program, e.g. `node app.mjs` (node >= 22: recording needs multi-memory); or a module
    /// (.wasm, .wat) recorded on wasmtime with WASI preview1 as its imports:
    /// `app.wasm [OPTIONS] -- ARGS...` runs `_start` with program arguments ARGS;
    /// `app.wasm [OPTIONS] --invoke F [ARGS...]` calls export F with ARGS (i32/i64 decimal or
    /// 0x hex, f32/f64 decimal, inf, nan or nan:0x..., refs: null). OPTIONS, as in
    /// `wasmtime run`: `--dir HOST_DIR[::GUEST_DIR]` (a preopened directory) and
    /// `--env NAME=VALUE` (the only environment variables the program sees).
    #[arg(
        required_unless_present = "browser",
        conflicts_with = "browser",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<String>,
    /// Records a web page instead, in headless Chromium: an HTML file (its directory is served
    /// from http://127.0.0.1) or a URL. The page ends the recording with `R3.done()`.
    #[arg(long, value_name = "PAGE.html|URL")]
    browser: Option<String>,
    /// The Chromium executable for --browser (default: chromium on PATH).
    #[arg(long, value_name = "PATH")]
    chromium: Option<PathBuf>,
    /// The node (>= 22) that drives Chromium for --browser (default: `$R3_NODE`, `node` if new
    /// enough, else `npx -y node@22`).
    #[arg(long, value_name = "PATH")]
    node: Option<PathBuf>,
    /// Seconds the page gets to call `R3.done()` (--browser, default 60); then its traces end anyway.
    #[arg(long, value_name = "S")]
    timeout: Option<u64>,
    /// Write every `export_return`, also those the next `export_call` implies (which are left
    /// out by default): the trace then holds every value the exports returned. The same as
    /// `R3_KEEP_RETURNS=1` in the environment.
    #[arg(long)]
    keep_returns: bool,
}

pub fn run(args: RecordArgs) -> Result<ExitCode> {
    let keep_returns =
        args.keep_returns || std::env::var_os("R3_KEEP_RETURNS").is_some_and(|value| value == "1");
    if args.command.first().is_some_and(|program| is_module(program)) {
        return record_module(&args.command, &args.output_dir, keep_returns);
    }
    let r3 = std::env::current_exe().context("cannot locate the r3 executable")?;
    let instrumenter = node::Instrumenter { executable: r3, args: vec!["instrument".into()] };
    let recording = match &args.browser {
        Some(page) => {
            let options = browser::BrowserOptions {
                chromium: args.chromium,
                node: args.node,
                timeout_secs: args.timeout.unwrap_or(60),
                keep_returns,
            };
            browser::record(page, &args.output_dir, &options, &instrumenter)?
        }
        None if args.chromium.is_some() || args.node.is_some() || args.timeout.is_some() => {
            bail!("--chromium, --node and --timeout go with --browser")
        }
        None => node::record(&args.command, &args.output_dir, &instrumenter, keep_returns)?,
    };
    for trace in &recording.traces {
        eprintln!("r3: {}", summary(trace));
    }
    for trace in &recording.unfinished {
        eprintln!(
            "r3: {}: no trace: its process ended (killed?) before the trace was complete",
            trace.display()
        );
    }
    // Exit status 2 of the browser recorder: it could not record, and has said why.
    let could_record = args.browser.is_none() || recording.status.code() != Some(2);
    if recording.traces.is_empty() && recording.unfinished.is_empty() && could_record {
        eprintln!("r3: the program instantiated no WebAssembly module; no trace written");
    }
    Ok(match recording.status.code() {
        Some(code) => ExitCode::from(code as u8),
        None => ExitCode::FAILURE,
    })
}

fn summary(path: &Path) -> String {
    let trace = std::fs::read(path).map_err(anyhow::Error::from).and_then(|bytes| Ok(Trace::read(&bytes)?));
    match trace {
        Ok(trace) => {
            let stats = trace.stats();
            let reduction =
                stats.reduction_percent().map(|p| format!(", {p:.2}% fewer than naive")).unwrap_or_default();
            format!("{}: {} events{reduction}", path.display(), stats.events)
        }
        Err(error) => format!("{}: unreadable trace: {error:#}", path.display()),
    }
}

fn is_module(program: &str) -> bool {
    Path::new(program).extension().is_some_and(|ext| ext == "wasm" || ext == "wat")
}

/// What to run of a module: `--invoke F ARGS...`, else its `_start` with program arguments.
struct Invocation {
    module: PathBuf,
    wasi: WasiOptions,
    invoke: Option<String>,
    args: Vec<String>,
}

impl Invocation {
    /// `MODULE [--dir ...] [--env ...] (--invoke F [ARGS...] | [--] [ARGS...])`.
    fn parse(words: &[String]) -> Result<Invocation> {
        let (module, rest) = words.split_first().context("no module given")?;
        let module = PathBuf::from(module);
        let (wasi, rest) = WasiOptions::parse(rest)?;
        let (invoke, args) = match rest {
            [flag, name, args @ ..] if flag == "--invoke" => (Some(name.clone()), args),
            [flag, args @ ..] if flag.starts_with("--invoke=") => {
                (Some(flag["--invoke=".len()..].to_string()), args)
            }
            [flag] if flag == "--invoke" => bail!("--invoke needs the name of an exported function"),
            [separator, args @ ..] if separator == "--" => (None, args),
            args => (None, args),
        };
        Ok(Invocation { module, wasi, invoke, args: args.to_vec() })
    }

    /// The program's arguments: none for `--invoke`, whose arguments are the function's.
    fn program_args(&self) -> &[String] {
        if self.invoke.is_some() { &[] } else { &self.args }
    }
}

/// Records one module instance on wasmtime, its imports from WASI preview1: results of
/// `--invoke` go to stdout as wasmtime's `--invoke` prints them, a trap to stderr (exit status
/// 1), `proc_exit(n)` exits with status n; the trace is written in every case.
fn record_module(words: &[String], out_dir: &Path, keep_returns: bool) -> Result<ExitCode> {
    let invocation = Invocation::parse(words)?;
    let path = &invocation.module;
    let bytes = native::read_module(path)?;
    let engine = r3_replay::link::engine();
    let stem = path.file_stem().map(|stem| stem.to_string_lossy().into_owned());
    let module = RecordingModule::new(&engine, &bytes, stem.as_deref())?;
    let context = wasi::context(path, invocation.program_args(), &invocation.wasi)?;
    let mut store = Store::new(&engine, context);
    let imports = wasi::imports(&mut store, &module, path)?;
    let mut recorder = Recorder::new(out_dir);
    if keep_returns {
        recorder = recorder.keep_returns();
    }
    let instance = recorder.instantiate(&mut store, &module, &imports)?;
    let (name, outcome) = run_instance(&mut store, &instance, &invocation)?;
    for trace in recorder.finish(&mut store)? {
        eprintln!("r3: {}", summary(&trace));
    }
    Ok(report(&name, outcome))
}

/// Calls `--invoke`'s function (after `_initialize`, if the module is a WASI reactor) or
/// `_start`; returns the name of the function that ran last and how it ended.
fn run_instance<T: 'static>(
    store: &mut Store<T>,
    instance: &RecordedInstance,
    invocation: &Invocation,
) -> Result<(String, wasmtime::Result<Vec<Val>>)> {
    let path = invocation.module.display();
    let Some(name) = &invocation.invoke else {
        let start = instance.get_func("_start").with_context(|| match instance.get_func("_initialize") {
            Some(_) => format!("{path}: a WASI reactor (exports _initialize, no _start): give --invoke F"),
            None => format!("{path}: no exported function \"_start\" to run (or give --invoke F)"),
        })?;
        return Ok(("_start".into(), call(store, start, &[])?));
    };
    if let Some(initialize) = instance.get_func("_initialize").filter(|_| name != "_initialize") {
        let initialized = call(store, initialize, &[])?;
        if initialized.is_err() {
            return Ok(("_initialize".into(), initialized));
        }
    }
    let func = instance.get_func(name).with_context(|| format!("{path}: no exported function {name:?}"))?;
    Ok((name.clone(), call(store, func, &invocation.args)?))
}

/// Prints results or the failure; the exit status: `proc_exit`'s, 1 for a failure.
fn report(name: &str, outcome: wasmtime::Result<Vec<Val>>) -> ExitCode {
    let error = match outcome {
        Ok(results) => {
            results.iter().for_each(|result| println!("{}", display(result)));
            return ExitCode::SUCCESS;
        }
        Err(error) => error,
    };
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        // As `wasmtime run`: the status modulo 256, as the OS takes it.
        return ExitCode::from(exit.0 as u8);
    }
    match error.downcast_ref::<Trap>() {
        Some(trap) => eprintln!("error: {name} trapped: {trap}"),
        None => eprintln!("error: {name} failed: {error:#}"),
    }
    ExitCode::FAILURE
}

/// Parses `args` for `func`'s parameters and calls it; argument errors are errors of r3, a
/// failing call is the outcome.
fn call<T: 'static>(store: &mut Store<T>, func: Func, args: &[String]) -> Result<wasmtime::Result<Vec<Val>>> {
    let ty = func.ty(&*store);
    let params: Vec<ValType> = ty.params().collect();
    if params.len() != args.len() {
        bail!("the function takes {} arguments, {} given", params.len(), args.len());
    }
    let args = params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| parse_value(ty, arg).with_context(|| format!("argument {} ({arg:?})", i + 1)))
        .collect::<Result<Vec<Val>>>()?;
    let mut results = vec![Val::I32(0); ty.results().len()];
    Ok(func.call(&mut *store, &args, &mut results).map(|()| results))
}

fn parse_value(ty: &ValType, text: &str) -> Result<Val> {
    Ok(match ty {
        ValType::I32 => Val::I32(parse_int(text, 32)? as i32),
        ValType::I64 => Val::I64(parse_int(text, 64)? as i64),
        ValType::F32 => Val::F32(parse_float(text, 23, 8)? as u32),
        ValType::F64 => Val::F64(parse_float(text, 52, 11)?),
        ValType::V128 => Val::V128(parse_u128(text)?.into()),
        ValType::Ref(_) if text == "null" => Val::null_ref(&ty.unwrap_ref().heap_type().clone()),
        ValType::Ref(_) => bail!("a reference argument can only be null"),
    })
}

/// Decimal (signed or unsigned) or `0x` hex, as the low `bits` bits.
fn parse_int(text: &str, bits: u32) -> Result<u64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text),
    };
    let magnitude = match digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    }
    .with_context(|| format!("not an integer: {text:?}"))?;
    let limit = if negative { 1u128 << (bits - 1) } else { (1u128 << bits) - 1 };
    if magnitude as u128 > limit {
        bail!("{text} does not fit in {bits} bits");
    }
    let value = if negative { magnitude.wrapping_neg() } else { magnitude };
    Ok(if bits == 64 { value } else { value & ((1 << bits) - 1) })
}

/// Decimal, `inf`, `nan` or `nan:0x<payload>` (optionally signed), as the bits of a float with
/// that many mantissa and exponent bits.
fn parse_float(text: &str, mantissa: u32, exponent: u32) -> Result<u64> {
    let (sign, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (1u64 << (mantissa + exponent), rest),
        None => (0, text.strip_prefix('+').unwrap_or(text)),
    };
    if let Some(payload) = unsigned.strip_prefix("nan:0x") {
        let payload =
            u64::from_str_radix(payload, 16).with_context(|| format!("not a NaN payload: {text:?}"))?;
        if payload == 0 || payload >> mantissa != 0 {
            bail!("a NaN payload is between 1 and 0x{:x}", (1u64 << mantissa) - 1);
        }
        let exponent_bits = ((1u64 << exponent) - 1) << mantissa;
        return Ok(sign | exponent_bits | payload);
    }
    if mantissa == 23 {
        let value: f32 = text.parse().with_context(|| format!("not a number: {text:?}"))?;
        Ok(value.to_bits() as u64)
    } else {
        let value: f64 = text.parse().with_context(|| format!("not a number: {text:?}"))?;
        Ok(value.to_bits())
    }
}

fn parse_u128(text: &str) -> Result<u128> {
    match text.strip_prefix("0x") {
        Some(hex) => u128::from_str_radix(hex, 16),
        None => text.parse(),
    }
    .with_context(|| format!("not a v128 (decimal or 0x hex): {text:?}"))
}

/// A result as wasmtime's `--invoke` prints it.
fn display(value: &Val) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        Val::V128(v) => v.as_u128().to_string(),
        Val::FuncRef(None) => "<null funcref>".into(),
        Val::FuncRef(Some(_)) => "<funcref>".into(),
        Val::ExternRef(None) => "<null externref>".into(),
        Val::ExternRef(Some(_)) => "<externref>".into(),
        _ => "<reference>".into(),
    }
}
