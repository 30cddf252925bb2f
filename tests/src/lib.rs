//! Shared helpers for the end-to-end tests.

pub mod corpus;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The installed corpus: `$CORPUS_DIR`, else `target/corpus` of the workspace
/// (`../shared/corpus/setup.sh target/corpus` installs it there).
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("CORPUS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/corpus"));
    assert!(
        dir.join("node_modules").is_dir(),
        "no corpus at {}: run ../shared/corpus/setup.sh target/corpus (or set CORPUS_DIR)",
        dir.display()
    );
    dir
}

/// Every `.wasm` file below `dir`, sorted, so test output is stable.
pub fn wasm_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == "wasm") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// A fresh directory under the system's temp dir, removed when the test is done with it, so
/// test runs do not fill the disk (CI machines have little to spare). A failing test keeps it,
/// and says where, for inspection.
pub struct TempDir(Option<tempfile::TempDir>);

impl TempDir {
    pub fn path(&self) -> &Path {
        self.0.as_ref().expect("alive until dropped").path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let dir = self.0.take().expect("dropped once");
        if std::thread::panicking() {
            eprintln!("kept {} of the failed test", dir.keep().display());
        }
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<OsStr> for TempDir {
    fn as_ref(&self) -> &OsStr {
        self.path().as_os_str()
    }
}

/// An empty directory `<temp>/<name>-XXXXXX`, removed on drop (see [`TempDir`]).
pub fn fresh_temp_dir(name: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("{name}-"))
        .tempdir()
        .unwrap_or_else(|error| panic!("cannot create a temp dir for {name}: {error}"));
    TempDir(Some(dir))
}

/// The largest `.wasm` file below `dir`, the heaviest input for benchmarks.
pub fn largest_wasm(dir: &Path) -> Option<PathBuf> {
    wasm_files(dir).into_iter().max_by_key(|path| path.metadata().map_or(0, |meta| meta.len()))
}

/// This process's peak resident set size in kB (Linux).
pub fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or(0)
}

/// A node that can run recordings (they need multi-memory, node >= 22): `$R3_NODE`, else the
/// node 22 binary that `npx -y node@22` installs from the npm registry, resolved once.
pub fn recording_node() -> PathBuf {
    static NODE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    NODE.get_or_init(|| {
        if let Some(node) = std::env::var_os("R3_NODE") {
            return PathBuf::from(node);
        }
        let output = std::process::Command::new("npx")
            .args(["-y", "node@22", "-p", "process.execPath"])
            .output()
            .expect("npx (from node's npm) is installed");
        assert!(
            output.status.success(),
            "npx -y node@22 failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&output.stdout).trim())
    })
    .clone()
}

/// The shared corpus definition (`../shared/corpus`: setup.sh, drivers/, manifest.tsv).
pub fn corpus_definition() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

/// The corpus drivers (`../shared/corpus/drivers/*.mjs`), sorted.
pub fn corpus_drivers() -> Vec<PathBuf> {
    drivers_in(&corpus_definition().join("drivers")).unwrap_or_else(|error| panic!("{error}"))
}

/// The `*.mjs` drivers in `dir`, sorted.
pub fn drivers_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut drivers: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "mjs"))
        .collect();
    drivers.sort();
    Ok(drivers)
}

/// Runs a corpus program (with `CORPUS_DIR` set to [`corpus_dir`] unless the command sets it)
/// and returns the last line of its stdout, where the drivers print their digest; the exit
/// status and stderr if it fails.
pub fn driver_digest(command: &mut std::process::Command) -> Result<String, String> {
    if !command.get_envs().any(|(name, _)| name == "CORPUS_DIR") {
        command.env("CORPUS_DIR", corpus_dir());
    }
    let output = command.output().map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last() {
        Some(line) if output.status.success() => Ok(line.to_string()),
        _ => Err(format!("{}\n{}", output.status, String::from_utf8_lossy(&output.stderr))),
    }
}

/// Checks that `observed` (the program run instrumented or recorded) prints the digest that
/// `plain` prints. A driver whose output depends on the clock (fonteditor writes the time into a
/// font and digests its compressed size) may change its digest between any two runs, so the
/// observed digest must equal a plain one right before or after it, in one of three attempts.
/// Returns the wall times of the plain and the observed run of the attempt that matched.
pub fn same_digest(
    plain: impl Fn() -> std::process::Command,
    observed: impl Fn() -> std::process::Command,
) -> Result<RunTimes, String> {
    let timed = |mut command: std::process::Command| {
        let start = std::time::Instant::now();
        driver_digest(&mut command).map(|digest| (digest, start.elapsed().as_secs_f64()))
    };
    let mut attempts = Vec::new();
    for _ in 0..3 {
        let (before, plain_seconds) = timed(plain())?;
        let (seen, observed_seconds) = timed(observed())?;
        if before == seen || driver_digest(&mut plain())? == seen {
            return Ok(RunTimes { plain_seconds, observed_seconds });
        }
        attempts.push(format!("{before} -> {seen}"));
    }
    Err(format!("digest changed: {}", attempts.join(", ")))
}

/// Wall times of one plain and one observed (instrumented, recorded) run of a program.
#[derive(Debug, Clone, Copy)]
pub struct RunTimes {
    pub plain_seconds: f64,
    pub observed_seconds: f64,
}

/// Runs `check` on every corpus driver, two at a time (the programs are single-threaded, so two
/// use both cores), and returns `slug: error` for each that failed, in driver order.
pub fn failures_over_corpus(check: impl Fn(&Path, &str) -> Result<(), String> + Sync) -> Vec<String> {
    let drivers = corpus_drivers();
    assert!(drivers.len() >= 20, "only {} drivers", drivers.len());
    let results = over_drivers(&drivers, 2, |driver, slug| {
        check(driver, slug).map_err(|error| format!("{slug}: {error}"))
    });
    results.into_iter().filter_map(Result::err).collect()
}

/// `run(driver, slug)` for every driver, `jobs` at a time; the results in driver order.
pub fn over_drivers<T: Send>(
    drivers: &[PathBuf],
    jobs: usize,
    run: impl Fn(&Path, &str) -> T + Sync,
) -> Vec<T> {
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::Mutex::new(drivers.iter().enumerate());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let Some((index, driver)) = next.lock().unwrap().next() else { break };
                    let slug = driver.file_stem().unwrap_or_default().to_string_lossy().into_owned();
                    let result = run(driver, &slug);
                    results.lock().unwrap().push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// The `.r3` traces in `dir`, sorted.
pub fn traces_in(dir: &Path) -> Vec<PathBuf> {
    let mut traces: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "r3"))
        .collect();
    traces.sort();
    traces
}

/// Runs `program` with `args`: Ok if it succeeds, else the last lines of its stderr.
pub fn run_tool(program: &Path, args: &[&OsStr]) -> Result<(), String> {
    let output =
        std::process::Command::new(program).args(args).output().map_err(|error| error.to_string())?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
    Err(tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
}

/// Replays every trace in `dir` with the `r3` executable and runs every step of
/// [`corpus::STEPS`] on it (checks on wasmtime and in node, the merged replay.wasm run on both).
/// Returns the failed steps as (step, trace stem, error).
pub fn replay_all(r3: &Path, dir: &Path) -> Vec<(&'static str, String, String)> {
    let node = recording_node();
    let mut failed = Vec::new();
    for trace in traces_in(dir) {
        let stem = trace.file_stem().unwrap().to_string_lossy().into_owned();
        let replay = dir.join(format!("replay-{stem}"));
        let summary = dir.join(format!("replay-{stem}.json"));
        for &(step, _) in corpus::STEPS {
            if let Err(error) = corpus::replay_step(r3, &node, step, &trace, &replay, &summary) {
                failed.push((step, stem.clone(), error));
                if step == "replay" {
                    break;
                }
            }
        }
    }
    failed
}
pub mod fuzz;
pub mod hostile;
