//! Shared helpers for the end-to-end tests.

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

/// An empty directory `<temp>/<name>-<pid>`, emptied if a previous run left it.
pub fn fresh_temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|error| panic!("{}: {error}", dir.display()));
    dir
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

/// The corpus drivers (`../shared/corpus/drivers/*.mjs`), sorted.
pub fn corpus_drivers() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/drivers");
    let mut drivers: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "mjs"))
        .collect();
    drivers.sort();
    drivers
}

/// Runs a corpus program (with `CORPUS_DIR` set) and returns the last line of its stdout, where
/// the drivers print their digest; the exit status and stderr if it fails.
pub fn driver_digest(command: &mut std::process::Command) -> Result<String, String> {
    let output = command.env("CORPUS_DIR", corpus_dir()).output().map_err(|error| error.to_string())?;
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
pub fn same_digest(
    plain: impl Fn() -> std::process::Command,
    observed: impl Fn() -> std::process::Command,
) -> Result<(), String> {
    let mut attempts = Vec::new();
    for _ in 0..3 {
        let before = driver_digest(&mut plain())?;
        let seen = driver_digest(&mut observed())?;
        if before == seen || driver_digest(&mut plain())? == seen {
            return Ok(());
        }
        attempts.push(format!("{before} -> {seen}"));
    }
    Err(format!("digest changed: {}", attempts.join(", ")))
}

/// Runs `check` on every corpus driver, two at a time (the programs are single-threaded, so two
/// use both cores), and returns `slug: error` for each that failed, in driver order.
pub fn failures_over_corpus(check: impl Fn(&Path, &str) -> Result<(), String> + Sync) -> Vec<String> {
    let drivers = corpus_drivers();
    assert!(drivers.len() >= 20, "only {} drivers", drivers.len());
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::Mutex::new(drivers.iter().enumerate());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some((index, driver)) = next.lock().unwrap().next() {
                    let slug = driver.file_stem().unwrap().to_string_lossy().into_owned();
                    if let Err(error) = check(driver, &slug) {
                        results.lock().unwrap().push((index, format!("{slug}: {error}")));
                    }
                }
            });
        }
    });
    let mut failures = results.into_inner().unwrap();
    failures.sort();
    failures.into_iter().map(|(_, failure)| failure).collect()
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

/// Replays every trace in `dir` with the `r3` executable and checks each replay: faithful on
/// wasmtime (`check`) and in node (`check-node`), and its merged replay.wasm runs in node
/// (`merged`). Returns the failed steps as (step, trace stem, error).
pub fn replay_all(r3: &Path, dir: &Path) -> Vec<(&'static str, String, String)> {
    let node = recording_node();
    let mut failed = Vec::new();
    for trace in traces_in(dir) {
        let stem = trace.file_stem().unwrap().to_string_lossy().into_owned();
        let replay = dir.join(format!("replay-{stem}"));
        let merged = replay.join("replay.wasm");
        let node_engine =
            [OsStr::new("--engine"), OsStr::new("node"), OsStr::new("--node"), node.as_os_str()];
        let replay_args = [OsStr::new("replay"), trace.as_os_str(), OsStr::new("-o"), replay.as_os_str()];
        if let Err(error) = run_tool(r3, &replay_args) {
            failed.push(("replay", stem, error));
            continue;
        }
        let check = [OsStr::new("check"), trace.as_os_str(), replay.as_os_str()];
        let check_node = [&check[..1], &node_engine[..], &check[1..]].concat();
        let run_merged = [&[OsStr::new("run")][..], &node_engine[..2], &[merged.as_os_str()][..]].concat();
        for (step, args) in [("check", check.to_vec()), ("check-node", check_node), ("merged", run_merged)] {
            let result = if step == "merged" && !merged.exists() {
                Err("no replay.wasm".into())
            } else {
                run_tool(r3, &args)
            };
            if let Err(error) = result {
                failed.push((step, stem.clone(), error));
            }
        }
    }
    failed
}
