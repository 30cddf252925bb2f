//! `wasabi run`: starts a node program with a preload that instruments every module at
//! instantiation (by calling this executable) and loads the analysis.

use crate::HookArgs;
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

#[derive(Args)]
pub struct RunArgs {
    /// Analysis script that sets `Wasabi.analysis` (the global `Wasabi` is defined).
    #[arg(long)]
    analysis: Option<PathBuf>,
    /// Write `Wasabi.analysisResult` as JSON to this file when the program exits.
    #[arg(long)]
    result: Option<PathBuf>,
    #[command(flatten)]
    hooks: HookArgs,
    /// The program, e.g. `node app.mjs`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let Some((program, program_args)) = args.command.split_first() else { bail!("no program given") };
    let work = std::env::temp_dir().join(format!("wasabi-run-{}", std::process::id()));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let runtime = work.join("runtime.js");
    std::fs::write(&runtime, wasabi::js::RUNTIME)?;
    let preload = wasabi::js::write_preload(&work)?;
    let exe = std::env::current_exe().context("cannot locate the wasabi executable")?;
    let mut node_options = std::env::var("NODE_OPTIONS").unwrap_or_default();
    node_options.push_str(&format!(" --require {}", preload.display()));
    let mut command = Command::new(program);
    command
        .args(program_args)
        .env("NODE_OPTIONS", node_options.trim())
        .env("WASABI_BIN", &exe)
        .env("WASABI_RUNTIME", &runtime)
        .env("WASABI_CACHE", work.join("cache"));
    if let Some(analysis) = &args.analysis {
        let analysis = std::path::absolute(analysis)?;
        if !analysis.exists() {
            bail!("analysis {} does not exist", analysis.display());
        }
        command.env("WASABI_ANALYSIS", analysis);
    }
    if let Some(result) = &args.result {
        command.env("WASABI_RESULT", std::path::absolute(result)?);
    }
    // The preload passes the selection on as `--hooks=`, so it is resolved to a list here.
    let hooks: Vec<&str> = args.hooks.hook_set()?.iter().map(|hook| hook.cli_name()).collect();
    command.env("WASABI_HOOKS", hooks.join(","));
    let status = command.status().with_context(|| format!("cannot start {program}"));
    let _ = std::fs::remove_dir_all(&work);
    let status = status?;
    Ok(match status.code() {
        Some(code) => ExitCode::from(code as u8),
        None => ExitCode::FAILURE,
    })
}
