//! Every host-program case in tests/r3/ recorded with `r3 record -- node CASE.mjs CASE.wasm`; the
//! traces, as text, are snapshots. Each trace must also survive text -> binary -> text.

use r3_hooks::Trace;
use r3_hooks::trace::Encoding;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/r3")
}

fn cases() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(cases_dir())
        .expect("tests/r3 exists")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            (path.extension()? == "wat").then_some(stem)
        })
        .collect();
    names.sort();
    names
}

/// Records one case; returns the program's stdout and its traces printed as text.
fn record(name: &str, work: &Path) -> Result<String, String> {
    let wasm = work.join(format!("{name}.wasm"));
    let wat = cases_dir().join(format!("{name}.wat"));
    let bytes = wat::parse_file(&wat).map_err(|error| format!("{}: {error}", wat.display()))?;
    std::fs::write(&wasm, bytes).map_err(|error| error.to_string())?;
    let out = work.join("out");
    let output = Command::new(env!("CARGO_BIN_EXE_r3"))
        .args(["record", "-o"])
        .arg(&out)
        .arg("--")
        .arg(tests::recording_node())
        .arg(cases_dir().join(format!("{name}.mjs")))
        .arg(&wasm)
        .output()
        .map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status));
    }
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&out)
        .map_err(|error| format!("no trace directory: {error}\n{stderr}"))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "r3"))
        .collect();
    traces.sort();
    let mut text = format!("stdout:\n{stdout}");
    for path in traces {
        let trace = Trace::read(&std::fs::read(&path).unwrap())
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let printed = String::from_utf8(trace.to_bytes(Encoding::Text)).unwrap();
        let binary = Trace::read(printed.as_bytes()).unwrap().to_bytes(Encoding::Binary);
        if Trace::read(&binary).unwrap() != trace {
            return Err(format!("{}: text -> binary is lossy", path.display()));
        }
        text.push_str(&format!("\n{}:\n{printed}", path.file_name().unwrap().to_string_lossy()));
    }
    Ok(text)
}

#[test]
fn host_program_cases() {
    let names = cases();
    assert!(!names.is_empty());
    let mut failures = Vec::new();
    for name in &names {
        let work = std::env::temp_dir().join(format!("r3-case-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        match record(name, &work) {
            Ok(text) => {
                let result = std::panic::catch_unwind(|| insta::assert_snapshot!(name.as_str(), text));
                if result.is_err() {
                    failures.push(format!("{name}: snapshot differs"));
                }
            }
            Err(error) => failures.push(format!("{name}: {error}")),
        }
        let _ = std::fs::remove_dir_all(&work);
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}
