//! Spec scripts in node through the wasabi JS runtime: each module runs twice, original and
//! instrumented with every hook, in the same process; every command must give the same outcome
//! in both, and a checking analysis validates every hook call it receives.
//!
//! JS cannot pass or receive v128 values, so exports with v128 in their signature are called
//! through a small adapter module that takes and returns each v128 as four i32 lanes.

use anyhow::{Context, Result, bail};
use std::fmt::Write;
use std::path::Path;
use wasabi::instrument::lowlevel::Ty;
use wast::core::{AbstractHeapType, HeapType, WastArgCore};
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke};

/// Writes `DIR/run.js` and the modules it loads; returns the script's path.
pub fn generate(name: &str, text: &str, dir: &Path) -> Result<std::path::PathBuf> {
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = ParseBuffer::new_with_lexer(lexer).with_context(|| format!("{name}: lexing"))?;
    let wast = parser::parse::<Wast>(&buffer).with_context(|| format!("{name}: parsing"))?;
    std::fs::create_dir_all(dir)?;
    let mut js = String::new();
    js.push_str(wasabi::js::RUNTIME);
    js.push_str(HARNESS);
    let mut modules = 0;
    for directive in wast.directives {
        let line = directive.span().linecol_in(text).0 + 1;
        match directive {
            WastDirective::Module(module) => {
                let id = module.name().map(|id| id.name().to_string());
                let file = write_module(dir, &mut modules, module, &mut js)?;
                writeln!(js, "step({line}, () => define({file:?}, {}));", js_string(id.as_deref()))?;
            }
            WastDirective::Register { name, module, .. } => {
                let id = module.map(|id| id.name().to_string());
                writeln!(js, "step({line}, () => register({name:?}, {}));", js_string(id.as_deref()))?;
            }
            WastDirective::Invoke(invoke) => writeln!(js, "step({line}, () => same({}));", call(&invoke)?)?,
            WastDirective::AssertReturn { exec, .. } => {
                if let Some(exec) = execute(exec, dir, &mut modules, &mut js)? {
                    writeln!(js, "step({line}, () => same({exec}, 'return'));")?;
                }
            }
            WastDirective::AssertTrap { exec, .. } => {
                if let Some(exec) = execute(exec, dir, &mut modules, &mut js)? {
                    writeln!(js, "step({line}, () => same({exec}, 'trap'));")?;
                }
            }
            WastDirective::AssertExhaustion { call: invoke, .. } => {
                writeln!(js, "step({line}, () => same({}, 'trap'));", call(&invoke)?)?;
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                let file = write_module(dir, &mut modules, QuoteWat::Wat(module), &mut js)?;
                writeln!(js, "step({line}, () => same((w) => instantiate(w, {file:?}), 'fail'));")?;
            }
            // Refusing bad modules is tested natively (spec-tests --mode instrument).
            _ => {}
        }
    }
    js.push_str("finish();\n");
    let path = dir.join("run.js");
    std::fs::write(&path, js)?;
    Ok(path)
}

/// Writes the original module and its instrumented twin; returns the original's file name.
fn write_module(dir: &Path, count: &mut usize, mut module: QuoteWat, js: &mut String) -> Result<String> {
    let bytes = module.encode().context("encoding a module")?;
    let instrumented = wasabi::instrument(&bytes, &wasabi::HookSet::all())?;
    *count += 1;
    let name = format!("m{count}");
    std::fs::write(dir.join(format!("{name}.wasm")), &bytes)?;
    std::fs::write(dir.join(format!("{name}.instrumented.wasm")), instrumented.wasm())?;
    for (index, (export, adapter)) in v128_adapters(&bytes)?.into_iter().enumerate() {
        std::fs::write(dir.join(format!("{name}.a{index}.adapter.wasm")), adapter)?;
        writeln!(js, "(adapters[{name:?}] ||= {{}})[{export:?}] = {index};")?;
    }
    js.push_str(&wasabi::js::registration(&instrumented));
    Ok(name)
}

/// A JS function `(world) => value` for a command, or `None` if JS cannot express it.
fn execute(exec: WastExecute, dir: &Path, count: &mut usize, js: &mut String) -> Result<Option<String>> {
    Ok(Some(match exec {
        WastExecute::Invoke(invoke) => call(&invoke)?,
        WastExecute::Wat(module) => {
            let file = write_module(dir, count, QuoteWat::Wat(module), js)?;
            format!("(w) => instantiate(w, {file:?})")
        }
        WastExecute::Get { module, global, .. } => {
            let id = module.map(|id| id.name().to_string());
            format!("(w) => instance(w, {}).exports[{global:?}].value", js_string(id.as_deref()))
        }
    }))
}

fn call(invoke: &WastInvoke) -> Result<String> {
    let id = invoke.module.map(|id| id.name().to_string());
    let args: Vec<String> = invoke.args.iter().map(argument).collect::<Result<_>>()?;
    Ok(format!("(w) => invoke(w, {}, {:?}, [{}])", js_string(id.as_deref()), invoke.name, args.join(", ")))
}

fn argument(arg: &WastArg) -> Result<String> {
    let WastArg::Core(arg) = arg else { bail!("component arguments are not supported") };
    Ok(match arg {
        WastArgCore::I32(value) => value.to_string(),
        WastArgCore::I64(value) => format!("{value}n"),
        WastArgCore::F32(value) => format!("f32({})", value.bits),
        WastArgCore::F64(value) => format!("f64({}n)", value.bits),
        WastArgCore::V128(value) => {
            let lanes: Vec<String> = value
                .to_le_bytes()
                .chunks(4)
                .map(|lane| i32::from_le_bytes(lane.try_into().expect("4 bytes")).to_string())
                .collect();
            format!("v128([{}])", lanes.join(", "))
        }
        WastArgCore::RefNull(HeapType::Abstract {
            ty: AbstractHeapType::Func | AbstractHeapType::Extern,
            ..
        }) => "null".to_string(),
        WastArgCore::RefExtern(host) => format!("ext({host})"),
        other => bail!("unsupported argument {other:?}"),
    })
}

fn js_string(value: Option<&str>) -> String {
    value.map_or("undefined".to_string(), |value| format!("{value:?}"))
}

/// For each exported function with v128 in its signature: a module importing it as `m.f` and
/// exporting `f` with every v128 as four i32 lanes.
fn v128_adapters(bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>> {
    let module = wasabi_wasm::Module::decode(bytes)?;
    let mut adapters = Vec::new();
    for export in module.exports.iter().filter(|export| export.kind == wasabi_wasm::ExportKind::Function) {
        let ty = module.function_type_index(export.index).map(|index| &module.types[index as usize]);
        let Some(ty) = ty else { continue };
        let is_v128 = |ty: &wasabi_wasm::ValType| *ty == wasabi_wasm::ValType::V128;
        if !ty.params.iter().chain(&ty.results).any(is_v128) {
            continue;
        }
        adapters.push((export.name.clone(), wat::parse_str(adapter_wat(&ty.params, &ty.results))?));
    }
    Ok(adapters)
}

fn adapter_wat(params: &[wasabi_wasm::ValType], results: &[wasabi_wasm::ValType]) -> String {
    // Wasm 2.0 has no other value types than the ones a hook can carry.
    let name = |ty: &wasabi_wasm::ValType| Ty::from_encoder(*ty).map_or("funcref", Ty::name);
    let lanes = |ty: &wasabi_wasm::ValType| {
        if name(ty) == "v128" { "i32 i32 i32 i32".to_string() } else { name(ty).to_string() }
    };
    let original = format!(
        "(param {}) (result {})",
        params.iter().map(name).collect::<Vec<_>>().join(" "),
        results.iter().map(name).collect::<Vec<_>>().join(" ")
    );
    let adapted = format!(
        "(param {}) (result {})",
        params.iter().map(lanes).collect::<Vec<_>>().join(" "),
        results.iter().map(lanes).collect::<Vec<_>>().join(" ")
    );
    let mut body = String::new();
    let mut local = 0;
    for param in params {
        if name(param) == "v128" {
            write!(body, "(i32x4.splat (local.get {local}))").unwrap();
            for lane in 1..4 {
                write!(body, " (local.get {}) i32x4.replace_lane {lane}", local + lane).unwrap();
            }
            local += 4;
        } else {
            write!(body, " (local.get {local})").unwrap();
            local += 1;
        }
    }
    body.push_str(" (call $f)");
    // Results leave the stack last first; keep them in locals, then push them lane by lane.
    let temps: Vec<String> = results.iter().map(|ty| format!("(local {})", name(ty))).collect();
    let first_temp = local;
    for (index, _) in results.iter().enumerate().rev() {
        write!(body, " (local.set {})", first_temp + index).unwrap();
    }
    for (index, ty) in results.iter().enumerate() {
        if name(ty) == "v128" {
            for lane in 0..4 {
                write!(body, " (i32x4.extract_lane {lane} (local.get {}))", first_temp + index).unwrap();
            }
        } else {
            write!(body, " (local.get {})", first_temp + index).unwrap();
        }
    }
    format!(
        "(module (import \"m\" \"f\" (func $f {original})) (func (export \"f\") {adapted} {} {body}))",
        temps.join(" ")
    )
}

/// The harness: two worlds (0 = original, 1 = instrumented), a checking analysis, and the
/// helpers the generated steps call.
const HARNESS: &str = include_str!("node_harness.js");
