//! Recording an unmodified node program: node starts with wasabi's preload in r3 mode, which
//! instruments every module at compilation (by calling back into the `r3` executable) and
//! links it to the JS recorder; the recorder writes `<module>-<instance>.r3` files at exit.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RecordError {
    #[error("no program given")]
    NoProgram,
    #[error("cannot create {path}: {source}")]
    Output { path: PathBuf, source: std::io::Error },
    #[error("cannot start {program}: {source}")]
    Start { program: String, source: std::io::Error },
    #[error("{0}: no such file, and not an http(s) or file URL")]
    NoPage(String),
    #[error(
        "no chromium found on PATH (chromium, chromium-browser, google-chrome): install it \
         (Debian: apt-get install chromium) or pass --chromium PATH"
    )]
    NoChromium,
}

pub struct Recording {
    /// The program's (or the browser recorder's) exit status, passed on by `r3 record`.
    pub status: ExitStatus,
    /// Traces the run wrote, sorted.
    pub traces: Vec<PathBuf>,
    /// Traces the run began but never completed, sorted: their process ended (killed) before
    /// its first checkpoint. Their temporary files are removed.
    pub unfinished: Vec<PathBuf>,
}

/// Runs `command` (e.g. `node app.mjs`) with recording on; its stdout, stderr and exit status
/// are the program's own.
/// What the preload runs to instrument a module: `executable args... --node -o DIR --hooks=r3
/// INPUT` (wasabi's command line).
pub struct Instrumenter {
    pub executable: PathBuf,
    pub args: Vec<String>,
}

/// Runs `command` with every module instance recorded into `out_dir`; with `keep_returns`
/// its traces hold every `export_return` (docs/trace-format.md, "Call-stack optimisation").
pub fn record(
    command: &[String],
    out_dir: &Path,
    instrumenter: &Instrumenter,
    keep_returns: bool,
) -> Result<Recording, RecordError> {
    let (program, args) = command.split_first().ok_or(RecordError::NoProgram)?;
    let output_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RecordError::Output { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(output_error(out_dir))?;
    let out_dir = std::path::absolute(out_dir).map_err(output_error(out_dir))?;
    let started = std::time::SystemTime::now();
    let work = std::env::temp_dir().join(format!("r3-record-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(output_error(&work))?;
    let preload = wasabi::js::write_preload(&work).map_err(output_error(&work))?;
    let recorder = work.join("recorder.js");
    std::fs::write(&recorder, wasabi::js::RECORDER).map_err(output_error(&recorder))?;
    // A cache the caller keeps (`$WASABI_CACHE`) spares instrumenting again in later runs.
    let cache_dir = std::env::var_os("WASABI_CACHE").map(PathBuf::from);
    let mut node_options = std::env::var("NODE_OPTIONS").unwrap_or_default();
    node_options.push_str(&format!(" --require {}", preload.display()));
    let mut command = Command::new(program);
    if let Some(path) = path_with_node_first(program) {
        command.env("PATH", path);
    }
    if keep_returns {
        command.env("R3_KEEP_RETURNS", "1");
    }
    let status = command
        .args(args)
        .env("NODE_OPTIONS", node_options.trim())
        .env("WASABI_BIN", &instrumenter.executable)
        .env("WASABI_BIN_ARGS", instrumenter.args.join(" "))
        .env("WASABI_HOOKS", "r3")
        .env("WASABI_RUNTIME", &recorder)
        .env("WASABI_CACHE", cache_dir.unwrap_or_else(|| work.join("cache")))
        .env("R3_TRACE_DIR", &out_dir)
        // Threads and processes of the program claim trace names and instance numbers here.
        .env("R3_CLAIMS", work.join("claims"))
        .status();
    let status = status.map_err(|source| RecordError::Start { program: program.clone(), source });
    if status.is_ok() {
        wait_for_recording_processes(&out_dir);
    }
    let _ = std::fs::remove_dir_all(&work);
    let status = status?;
    let unfinished = remove_unfinished(&out_dir);
    Ok(Recording { status, traces: traces_written_since(&out_dir, started), unfinished })
}

/// When the program is a node given by path (e.g. a node 22 beside an older system node), its
/// directory goes first on PATH: programs that start `node` child processes (esbuild) must get
/// the same node, or their modules cannot be recorded.
fn path_with_node_first(program: &str) -> Option<std::ffi::OsString> {
    let program = Path::new(program);
    let dir = program.parent().filter(|dir| !dir.as_os_str().is_empty())?;
    if program.file_stem()? != "node" {
        return None;
    }
    let dir = std::path::absolute(dir).ok()?;
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir).chain(std::env::split_paths(&rest))).ok()
}

/// Child processes of the program may still be writing traces (esbuild's service process
/// outlives its parent): each recording process keeps a `.r3-active-PID-THREAD` marker until
/// its traces are written. Markers of processes that died without removing them are dropped.
fn wait_for_recording_processes(out_dir: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let markers: Vec<PathBuf> = std::fs::read_dir(out_dir)
            .into_iter()
            .flatten()
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.file_name().is_some_and(|name| name.to_string_lossy().starts_with(".r3-active-"))
            })
            .collect();
        let mut waiting = false;
        for marker in markers {
            let name = marker.file_name().unwrap_or_default().to_string_lossy().into_owned();
            let pid =
                name.trim_start_matches(".r3-active-").split('-').next().unwrap_or_default().to_string();
            if is_running(&pid) {
                waiting = true;
            } else {
                let _ = std::fs::remove_file(&marker);
            }
        }
        if !waiting || std::time::Instant::now() > deadline {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The recorder writes a trace as `<trace>.<pid>-<random>.tmp` until its first checkpoint puts
/// it in place; such a file of a process that no longer runs is half a trace. Removes those,
/// returning the traces they were to become.
fn remove_unfinished(out_dir: &Path) -> Vec<PathBuf> {
    let mut unfinished: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let (trace, owner) = name.strip_suffix(".tmp")?.rsplit_once('.')?;
            let pid = owner.split('-').next()?;
            let ended = trace.ends_with(".r3") && pid.bytes().all(|b| b.is_ascii_digit()) && !is_running(pid);
            (ended && std::fs::remove_file(&path).is_ok()).then(|| out_dir.join(trace))
        })
        .collect();
    unfinished.sort();
    unfinished.dedup();
    unfinished
}

/// Whether process `pid` runs: it exists and is no zombie. A child process killed after its
/// parent ended (esbuild's service) stays a zombie until init reaps it, which may take a while.
fn is_running(pid: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")) else { return false };
    // The state follows the command name, which is in parentheses and may hold any character.
    let state = stat.rfind(')').and_then(|end| stat[end + 1..].split_whitespace().next());
    !matches!(state, Some("Z" | "X"))
}

/// The traces in `dir` written since `started`, sorted: those of an earlier recording into the
/// same folder are not this run's, unless rewritten.
pub(super) fn traces_written_since(dir: &Path, started: std::time::SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let written_since_start = |path: &PathBuf| {
        path.metadata().and_then(|meta| meta.modified()).is_ok_and(|modified| modified >= started)
    };
    let mut traces: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "r3"))
        .filter(written_since_start)
        .collect();
    traces.sort();
    traces
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn a_zombie_process_does_not_run() {
        let mut running = Command::new("sleep").arg("10").spawn().expect("sleep starts");
        assert!(is_running(&running.id().to_string()));
        running.kill().expect("killed");
        // Not reaped yet: a zombie, as a killed orphan is until init reaps it.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(!is_running(&running.id().to_string()));
        running.wait().expect("reaped");
        assert!(!is_running(&running.id().to_string()));
        assert!(!is_running("not-a-pid"));
    }
}
