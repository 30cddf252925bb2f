//! `spec-tests --mode roundtrip|instrument|r3 [--suite NAME]… [--json FILE] [--filter TEXT]`

use anyhow::{Context, Result};
use clap::Parser;
use spec_tests::{Mode, Options, Suite, run};
use std::path::PathBuf;

#[derive(Parser)]
#[command(about = "Runs the official WebAssembly spec suite through the wasabi toolchain")]
struct Cli {
    /// What happens to every module before it runs.
    #[arg(long, value_enum, default_value = "roundtrip")]
    mode: Mode,
    /// wasm-v1, wasm-v2, or a proposal folder of the suite (e.g. simd); repeatable.
    #[arg(long = "suite", value_parser = Suite::parse, default_values = ["wasm-v1", "wasm-v2"])]
    suites: Vec<Suite>,
    /// Only scripts whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    /// Also write the per-suite counts as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let report = run(&Options { mode: cli.mode, suites: cli.suites, filter: cli.filter });
    for failure in report.failures() {
        eprintln!("FAIL {failure}");
    }
    for failure in report.known_limits() {
        eprintln!("FAIL (known limit) {failure}");
    }
    for suite in &report.suites {
        println!("{}", suite.summary_line());
    }
    if let Some(path) = &cli.json {
        let json = serde_json::to_string_pretty(&report.suites)?;
        std::fs::write(path, json + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    let (passed, failed) = report.totals();
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
