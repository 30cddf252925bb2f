//! Tests that need node (>= 20): the JS runtime's own test suite, and every corpus program run
//! with all hooks and a no-op analysis, which must print the same digest as the plain run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("wasabi/ is inside the repository").to_path_buf()
}

fn wasabi() -> &'static str {
    env!("CARGO_BIN_EXE_wasabi")
}

#[test]
fn js_runtime_tests_pass() {
    let output = Command::new("node")
        .args(["--test", "tests/js/"])
        .current_dir(repo())
        .env("WASABI_BIN", wasabi())
        .output()
        .expect("node is installed");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("# fail 0"), "{stdout}");
}

/// The last line of a program's stdout: the drivers print their digest there.
fn digest(command: &mut Command) -> Result<String, String> {
    let output =
        command.env("CORPUS_DIR", tests::corpus_dir()).output().map_err(|error| error.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().last() {
        Some(line) if output.status.success() => Ok(line.to_string()),
        _ => Err(format!("{}\n{}", output.status, String::from_utf8_lossy(&output.stderr))),
    }
}

#[test]
fn corpus_digests_are_unchanged_with_all_hooks() {
    let drivers_dir = repo().join("../shared/corpus/drivers");
    let mut drivers: Vec<PathBuf> = std::fs::read_dir(&drivers_dir)
        .expect("../shared/corpus/drivers exists")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "mjs"))
        .collect();
    drivers.sort();
    assert!(drivers.len() >= 20, "only {} drivers", drivers.len());
    let noop = std::env::temp_dir().join(format!("wasabi-noop-{}.js", std::process::id()));
    std::fs::write(&noop, "Wasabi.analysis = {};\n").unwrap();
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(drivers.iter());
    // The programs are single-threaded; two at a time use both cores.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                while let Some(driver) = next.lock().unwrap().next() {
                    let plain = digest(Command::new("node").arg(driver));
                    let instrumented = digest(
                        Command::new(wasabi())
                            .arg("run")
                            .arg("--analysis")
                            .arg(&noop)
                            .args(["--", "node"])
                            .arg(driver),
                    );
                    let name = driver.file_stem().unwrap().to_string_lossy().into_owned();
                    // Clock-dependent drivers (fonteditor's font header carries the time) may
                    // change their digest between any two runs: a second plain run tells apart.
                    let again = || digest(Command::new("node").arg(driver));
                    match (plain, instrumented) {
                        (Ok(plain), Ok(instrumented)) if plain == instrumented => eprintln!("{name}: ok"),
                        (Ok(_), Ok(instrumented)) if again() == Ok(instrumented.clone()) => {
                            eprintln!("{name}: ok")
                        }
                        (plain, instrumented) => failures
                            .lock()
                            .unwrap()
                            .push(format!("{name}: plain {plain:?}, instrumented {instrumented:?}")),
                    }
                }
            });
        }
    });
    let _ = std::fs::remove_file(&noop);
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
