//! Shared helpers for the end-to-end tests.

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
pub mod fuzz;
pub mod hostile;
