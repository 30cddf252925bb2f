//! WASI preview1 for modules recorded natively: the `--dir`/`--env` options and the imports,
//! taken from wasmtime-wasi as `wasmtime run` links them.

use anyhow::{Context, Result, bail};
use r3_hooks::record::native::RecordingModule;
use r3_hooks::wasmtime::{Extern, Linker, Store};
use std::path::{Path, PathBuf};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

/// The module name of WASI preview1 imports.
const WASI_MODULE: &str = "wasi_snapshot_preview1";

/// What the program sees of its environment besides its arguments and stdio.
#[derive(Default)]
pub struct WasiOptions {
    /// Host directory, guest path.
    dirs: Vec<(PathBuf, String)>,
    envs: Vec<(String, String)>,
}

impl WasiOptions {
    /// Takes the leading `--dir HOST_DIR[::GUEST_DIR]` and `--env NAME=VALUE` options (also as
    /// `--dir=…`, `--env=…`) off `words`; returns the words after them.
    pub fn parse(mut words: &[String]) -> Result<(WasiOptions, &[String])> {
        let mut options = WasiOptions::default();
        while let Some((flag, value, rest)) = option(words)? {
            match flag {
                "--dir" => options.dirs.push(dir(value)),
                _ => options.envs.push(env(value)?),
            }
            words = rest;
        }
        Ok((options, words))
    }
}

/// The first word's option, its value and the words after it; `None` if it is none of ours.
fn option(words: &[String]) -> Result<Option<(&'static str, &str, &[String])>> {
    let Some((first, rest)) = words.split_first() else { return Ok(None) };
    for flag in ["--dir", "--env"] {
        if let Some(value) = first.strip_prefix(flag).and_then(|tail| tail.strip_prefix('=')) {
            return Ok(Some((flag, value, rest)));
        }
        if first == flag {
            let (value, rest) = rest.split_first().with_context(|| format!("{flag} needs a value"))?;
            return Ok(Some((flag, value, rest)));
        }
    }
    Ok(None)
}

/// `HOST::GUEST`, or `HOST` seen by the guest under the same path (as `wasmtime run --dir`).
fn dir(value: &str) -> (PathBuf, String) {
    match value.split_once("::") {
        Some((host, guest)) => (PathBuf::from(host), guest.to_string()),
        None => (PathBuf::from(value), value.to_string()),
    }
}

fn env(value: &str) -> Result<(String, String)> {
    match value.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => bail!("--env {value:?}: expected NAME=VALUE"),
    }
}

/// The WASI context of a run of `module` (its file) with `args`: argv is the file name and
/// `args`, stdio is r3's, the environment and directories only what the options give.
pub fn context(module: &Path, args: &[String], options: &WasiOptions) -> Result<WasiP1Ctx> {
    let mut builder = WasiCtxBuilder::new();
    let program = module.file_name().unwrap_or(module.as_os_str()).to_string_lossy();
    builder.arg(program).args(args).inherit_stdio().envs(&options.envs);
    for (host, guest) in &options.dirs {
        builder
            .preopened_dir(host, guest, FsPerms::ReadWrite)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("--dir {}: cannot open the directory", host.display()))?;
    }
    Ok(builder.build_p1())
}

/// The externs for the original imports of `module` (in order): WASI preview1, the only imports
/// `r3 record` can provide.
pub fn imports(store: &mut Store<WasiP1Ctx>, module: &RecordingModule, path: &Path) -> Result<Vec<Extern>> {
    let mut linker: Linker<WasiP1Ctx> = Linker::new(store.engine());
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx)?;
    module
        .imports()
        .iter()
        .map(|import| {
            let found = linker.get(&mut *store, &import.module, &import.name);
            found.map_err(anyhow::Error::from).with_context(|| {
                let what = if import.module == WASI_MODULE { "no function of" } else { "not" };
                format!(
                    "{}: imports {}.{}, which is {what} WASI preview1 ({WASI_MODULE}), the only imports \
                     r3 record provides",
                    path.display(),
                    import.module,
                    import.name
                )
            })
        })
        .collect()
}
