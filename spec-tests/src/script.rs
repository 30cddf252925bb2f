//! Runs one .wast script on wasmtime; every module goes through the mode's transform first
//! (r3 mode: and is instantiated under the native recorder, see `r3.rs`).

use crate::r3;
use crate::report::{Skip, SuiteReport};
use crate::suite::Suite;
use crate::transform::Mode;
use crate::values;
use anyhow::{Context, Result, anyhow, bail};
use r3_hooks::record::native::RecordedInstance;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{
    Engine, Extern, Func, Global, GlobalType, Instance, Linker, Memory, MemoryType, Module, Mutability, Ref,
    RefType, Store, Table, TableType, Trap, Val, ValType,
};
use wast::parser::{self, ParseBuffer};
use wast::token::{Id, Span};
use wast::{QuoteWat, Wast, WastDirective, WastExecute, WastInvoke, Wat};

pub fn engine() -> Engine {
    let mut config = wasmtime::Config::new();
    config.wasm_simd(true).wasm_bulk_memory(true).wasm_reference_types(true).wasm_multi_value(true);
    Engine::new(&config).expect("wasmtime engine for the spec suite")
}

pub fn run(engine: &Engine, mode: Mode, suite: &Suite, name: &str, text: &str) -> SuiteReport {
    let mut report = SuiteReport::new(suite.name());
    report.scripts = 1;
    let mut runner = match Runner::new(engine, mode, suite, name, text) {
        Ok(runner) => runner,
        Err(error) => {
            report.failures.push(format!("{name}: cannot set up: {error:#}"));
            report.modules_failed += 1;
            return report;
        }
    };
    // names.wast exports names with bidi control characters on purpose.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = match ParseBuffer::new_with_lexer(lexer) {
        Ok(buffer) => buffer,
        Err(error) => return runner.unparsable(report, error),
    };
    let wast = match parser::parse::<Wast>(&buffer) {
        Ok(wast) => wast,
        Err(error) => return runner.unparsable(report, error),
    };
    for directive in wast.directives {
        runner.directive(&mut report, directive);
    }
    report.hook_calls = runner.hook_calls.load(Ordering::Relaxed);
    if let Some(session) = runner.session.take() {
        session.finish(&mut runner.store, name, &mut report);
    }
    report
}

/// A compiled module: as the mode transformed it, or prepared for recording (r3 mode).
enum Compiled {
    Plain(Module),
    Recorded(Box<r3::Compiled>),
}

/// An instance of a script module; a recorded one is reached through its recording wrappers.
#[derive(Clone)]
enum Inst {
    Plain(Instance),
    Recorded(RecordedInstance),
}

impl Inst {
    fn func(&self, store: &mut Store<()>, name: &str) -> Option<Func> {
        match self {
            Inst::Plain(instance) => instance.get_func(store, name),
            Inst::Recorded(instance) => instance.get_func(name),
        }
    }

    fn global(&self, store: &mut Store<()>, name: &str) -> Option<Global> {
        match self {
            Inst::Plain(instance) => instance.get_global(store, name),
            Inst::Recorded(instance) => instance.get_export(name)?.into_global(),
        }
    }
}

struct Runner<'a> {
    mode: Mode,
    suite: &'a Suite,
    name: &'a str,
    text: &'a str,
    store: Store<()>,
    linker: Linker<()>,
    current: Option<Inst>,
    named: HashMap<String, Inst>,
    hook_calls: Arc<AtomicU64>,
    /// r3 mode: the recordings.
    session: Option<r3::Session>,
    /// The line of the directive being run.
    line: usize,
}

impl<'a> Runner<'a> {
    fn new(engine: &Engine, mode: Mode, suite: &'a Suite, name: &'a str, text: &'a str) -> Result<Self> {
        let mut store = Store::new(engine, ());
        let mut linker = Linker::new(engine);
        linker.allow_shadowing(true);
        define_spectest(&mut linker, &mut store)?;
        Ok(Runner {
            mode,
            suite,
            name,
            text,
            store,
            linker,
            current: None,
            named: HashMap::new(),
            hook_calls: Arc::default(),
            session: mode.records().then(|| r3::Session::new(name)),
            line: 0,
        })
    }

    fn unparsable(&self, mut report: SuiteReport, error: wast::Error) -> SuiteReport {
        report.failures.push(format!("{}: does not parse: {error}", self.name));
        report.modules_failed += 1;
        report
    }

    fn location(&self, span: Span) -> String {
        format!("{}:{}", self.name, self.line(span))
    }

    fn line(&self, span: Span) -> usize {
        span.linecol_in(self.text).0 + 1
    }

    fn directive(&mut self, report: &mut SuiteReport, directive: WastDirective) {
        let span = directive.span();
        self.line = self.line(span);
        match directive {
            WastDirective::Module(module) => {
                report.modules += 1;
                if let Err(error) = self.define(module, true) {
                    report.modules_failed += 1;
                    report.failures.push(format!("{}: module: {error:#}", self.location(span)));
                }
            }
            WastDirective::ModuleDefinition(module) => {
                report.modules += 1;
                if let Err(error) = self.define(module, false) {
                    report.modules_failed += 1;
                    report.failures.push(format!("{}: module definition: {error:#}", self.location(span)));
                }
            }
            WastDirective::Register { name, module, .. } => {
                if let Err(error) = self.register(name, module) {
                    report.assertions_failed += 1;
                    report.failures.push(format!("{}: register: {error:#}", self.location(span)));
                }
            }
            WastDirective::Invoke(invoke) => {
                if let Err(error) = self.invoke(&invoke) {
                    report.assertions_failed += 1;
                    report.failures.push(format!("{}: invoke: {error:#}", self.location(span)));
                }
            }
            WastDirective::AssertMalformed { module, .. } => self.refused(report, span, module, true),
            WastDirective::AssertInvalid { module, .. } => self.refused(report, span, module, false),
            WastDirective::AssertReturn { exec, results, .. } => {
                self.assertion(report, span, |runner| runner.assert_return(exec, &results))
            }
            WastDirective::AssertTrap { exec, .. } => {
                self.assertion(report, span, |runner| runner.assert_trap(exec))
            }
            WastDirective::AssertExhaustion { call, .. } => {
                self.assertion(report, span, |runner| runner.assert_exhaustion(&call))
            }
            WastDirective::AssertUnlinkable { module, .. } => {
                self.assertion(report, span, |runner| runner.assert_unlinkable(module))
            }
            other => report.skipped.push(Skip {
                file: self.name.to_string(),
                line: self.line(span),
                reason: format!("unsupported directive {:?}", directive_kind(&other)),
            }),
        }
    }

    fn assertion(
        &mut self,
        report: &mut SuiteReport,
        span: Span,
        check: impl FnOnce(&mut Self) -> Result<()>,
    ) {
        report.assertions += 1;
        if let Err(error) = check(self) {
            report.assertions_failed += 1;
            report.failures.push(format!("{}: {error:#}", self.location(span)));
        }
    }

    /// assert_malformed / assert_invalid: the module must not get past our decoder.
    fn refused(&mut self, report: &mut SuiteReport, span: Span, mut module: QuoteWat, malformed: bool) {
        let text_only = matches!(module, QuoteWat::QuoteModule(..));
        let bytes = match module.encode() {
            Ok(bytes) => bytes,
            Err(_) if text_only && malformed => {
                report.malformed_text_rejected += 1;
                return;
            }
            Err(error) => {
                report.failures.push(format!("{}: the text parser refuses it: {error}", self.location(span)));
                report.assertions_failed += 1;
                return;
            }
        };
        let accepted = self.mode.transform(&bytes, self.suite.features()).is_ok();
        let kind = if malformed { "malformed" } else { "invalid" };
        match (malformed, accepted) {
            (true, false) => report.malformed_rejected += 1,
            (true, true) => report.malformed_accepted += 1,
            (false, false) => report.invalid_rejected += 1,
            (false, true) => report.invalid_accepted += 1,
        }
        if accepted {
            report.failures.push(format!("{}: {kind} module accepted", self.location(span)));
        }
    }

    fn compile(&mut self, mut module: QuoteWat) -> Result<Compiled> {
        let bytes = module.encode().context("encoding the script's module")?;
        let transformed =
            self.mode.transform(&bytes, self.suite.features()).map_err(|error| anyhow!(error))?;
        if self.mode.records() {
            return Ok(Compiled::Recorded(Box::new(r3::Compiled::new(
                self.store.engine(),
                transformed,
                self.line,
            )?)));
        }
        let module = Module::new(self.store.engine(), &transformed)?;
        self.mode.link(&mut self.linker, &module, &self.hook_calls)?;
        Ok(Compiled::Plain(module))
    }

    fn instantiate(&mut self, compiled: &Compiled) -> Result<Inst> {
        match compiled {
            Compiled::Plain(module) => Ok(Inst::Plain(self.linker.instantiate(&mut self.store, module)?)),
            Compiled::Recorded(module) => {
                let session = self.session.as_mut().ok_or_else(|| anyhow!("no recording session"))?;
                Ok(Inst::Recorded(session.instantiate(&mut self.store, &self.linker, module)?))
            }
        }
    }

    fn define(&mut self, module: QuoteWat, instantiate: bool) -> Result<()> {
        let id = module.name().map(|id| id.name().to_string());
        self.current = None;
        let compiled = self.compile(module)?;
        if !instantiate {
            return Ok(());
        }
        let instance = self.instantiate(&compiled)?;
        if let Some(id) = id {
            self.named.insert(id, instance.clone());
        }
        self.current = Some(instance);
        Ok(())
    }

    fn instance(&self, id: Option<Id>) -> Result<Inst> {
        match id {
            Some(id) => self.named.get(id.name()).cloned().ok_or_else(|| anyhow!("no module ${}", id.name())),
            None => self.current.clone().ok_or_else(|| anyhow!("no current module")),
        }
    }

    /// A recorded instance is registered with its recording wrappers: calls from other
    /// instances are host calls in its trace (and import calls in theirs).
    fn register(&mut self, name: &str, module: Option<Id>) -> Result<()> {
        match self.instance(module)? {
            Inst::Plain(instance) => {
                self.linker.instance(&mut self.store, name, instance)?;
            }
            Inst::Recorded(instance) => {
                for (export, item) in instance.exports() {
                    self.linker.define(&mut self.store, name, export, item.clone())?;
                }
            }
        }
        Ok(())
    }

    fn invoke(&mut self, invoke: &WastInvoke) -> Result<Vec<Val>> {
        let instance = self.instance(invoke.module)?;
        let func = instance
            .func(&mut self.store, invoke.name)
            .ok_or_else(|| anyhow!("no exported function {:?}", invoke.name))?;
        let args = invoke
            .args
            .iter()
            .map(|arg| values::argument(&mut self.store, arg))
            .collect::<Result<Vec<_>>>()?;
        let mut results = vec![Val::I32(0); func.ty(&self.store).results().len()];
        func.call(&mut self.store, &args, &mut results)?;
        Ok(results)
    }

    fn execute(&mut self, exec: WastExecute) -> Result<Vec<Val>> {
        match exec {
            WastExecute::Invoke(invoke) => self.invoke(&invoke),
            WastExecute::Wat(module) => {
                let compiled = self.compile(QuoteWat::Wat(module))?;
                self.instantiate(&compiled)?;
                Ok(Vec::new())
            }
            WastExecute::Get { module, global, .. } => {
                let instance = self.instance(module)?;
                let global = instance
                    .global(&mut self.store, global)
                    .ok_or_else(|| anyhow!("no exported global {global:?}"))?;
                Ok(vec![global.get(&mut self.store)])
            }
        }
    }

    fn assert_return(&mut self, exec: WastExecute, expected: &[wast::WastRet]) -> Result<()> {
        let actual = self.execute(exec)?;
        if actual.len() != expected.len() {
            bail!("expected {} results, got {}", expected.len(), actual.len());
        }
        for (index, (actual, expected)) in actual.iter().zip(expected).enumerate() {
            values::check(&self.store, actual, expected).with_context(|| format!("result {index}"))?;
        }
        Ok(())
    }

    fn assert_trap(&mut self, exec: WastExecute) -> Result<()> {
        let is_module = matches!(exec, WastExecute::Wat(_));
        match self.execute(exec) {
            Ok(_) => bail!("expected a trap, got a result"),
            Err(error) if error.downcast_ref::<Trap>().is_some() => Ok(()),
            // Instantiation that fails inside the start function or a segment is a trap too.
            Err(error) if is_module && format!("{error:#}").contains("trap") => Ok(()),
            Err(error) => bail!("expected a trap, got: {error:#}"),
        }
    }

    fn assert_exhaustion(&mut self, call: &WastInvoke) -> Result<()> {
        match self.invoke(call) {
            Ok(_) => bail!("expected stack exhaustion, got a result"),
            Err(error) if error.downcast_ref::<Trap>() == Some(&Trap::StackOverflow) => Ok(()),
            Err(error) => bail!("expected stack exhaustion, got: {error:#}"),
        }
    }

    fn assert_unlinkable(&mut self, module: Wat) -> Result<()> {
        let compiled = self.compile(QuoteWat::Wat(module))?;
        match self.instantiate(&compiled) {
            Ok(_) => bail!("expected a link error, but the module instantiated"),
            Err(error) if error.downcast_ref::<Trap>().is_some() => {
                bail!("expected a link error, got a trap")
            }
            Err(_) => Ok(()),
        }
    }
}

fn directive_kind(directive: &WastDirective) -> String {
    let debug = format!("{directive:?}");
    debug.split([' ', '(', '{']).next().unwrap_or_default().to_string()
}

/// The host module every spec script may import from.
fn define_spectest(linker: &mut Linker<()>, store: &mut Store<()>) -> Result<()> {
    linker.func_wrap("spectest", "print", || {})?;
    linker.func_wrap("spectest", "print_i32", |_: i32| {})?;
    linker.func_wrap("spectest", "print_i64", |_: i64| {})?;
    linker.func_wrap("spectest", "print_f32", |_: f32| {})?;
    linker.func_wrap("spectest", "print_f64", |_: f64| {})?;
    linker.func_wrap("spectest", "print_i32_f32", |_: i32, _: f32| {})?;
    linker.func_wrap("spectest", "print_f64_f64", |_: f64, _: f64| {})?;
    let globals = [
        ("global_i32", ValType::I32, Val::I32(666)),
        ("global_i64", ValType::I64, Val::I64(666)),
        ("global_f32", ValType::F32, Val::F32(666.6f32.to_bits())),
        ("global_f64", ValType::F64, Val::F64(666.6f64.to_bits())),
    ];
    for (name, ty, value) in globals {
        let global = Global::new(&mut *store, GlobalType::new(ty, Mutability::Const), value)?;
        linker.define(&mut *store, "spectest", name, Extern::Global(global))?;
    }
    let table = Table::new(&mut *store, TableType::new(RefType::FUNCREF, 10, Some(20)), Ref::Func(None))?;
    linker.define(&mut *store, "spectest", "table", table)?;
    let memory = Memory::new(&mut *store, MemoryType::new(1, Some(2)))?;
    linker.define(&mut *store, "spectest", "memory", memory)?;
    Ok(())
}
