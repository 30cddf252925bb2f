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
