//! `r3 record --browser` on a page (`tests/browser/`) that runs four corpus libraries in headless
//! Chromium, served from localhost: every instance the page creates leaves a trace, and every
//! trace replays and checks faithful on wasmtime and in node, and its merged replay runs.
//! Needs chromium on PATH (Debian: `apt-get install chromium`; `.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LIBRARIES: [&str; 4] = ["xxhash-wasm", "hash-wasm", "brotli-wasm", "lz4-wasm-nodejs"];

fn r3() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_r3"))
}

/// The test pages in `dir`, next to the corpus's node_modules, as a page's own site would be.
fn site(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser");
    for entry in std::fs::read_dir(&page).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    std::os::unix::fs::symlink(tests::corpus_dir().join("node_modules"), dir.join("node_modules")).unwrap();
    dir.join("index.html")
}

fn record(page: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(r3())
        .args(["record", "--browser"])
        .arg(page)
        .arg("-o")
        .arg(out)
        .arg("--node")
        .arg(tests::recording_node())
        .args(extra)
        .output()
        .expect("r3 runs")
}

/// Records `page` of a fresh site in `work` with `options`, after `prepare` added to the site's
/// folder; the traces' folder and what r3 printed, the recording having succeeded.
fn record_site_page(
    work: &Path,
    page: &str,
    options: &[&str],
    prepare: impl FnOnce(&Path),
) -> (PathBuf, String) {
    let site_dir = work.join("site");
    let page = site(&site_dir).with_file_name(page);
    prepare(&site_dir);
    let out = work.join("traces");
    let output = record(&page, &out, options);
    let report = report(&output);
    assert!(output.status.success(), "{report}");
    (out, report)
}

fn fib_wasm() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/fib.wasm")
}

fn report(output: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn corpus_libraries_record_in_chromium_and_replay_faithfully() {
    let work = tests::fresh_temp_dir("r3-browser-corpus");
    let page = site(&work.join("site"));
    let out = work.join("traces");
    let output = record(&page, &out, &[]);
    let report = report(&output);
    assert!(output.status.success(), "r3 record --browser failed:\n{report}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for library in LIBRARIES {
        assert!(stdout.contains(&format!("ok {library} ")), "{library} did not run:\n{report}");
    }
    let instances: usize = stdout
        .lines()
        .find_map(|line| line.strip_prefix("instances "))
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("the page reported no instance count:\n{report}"));
    let traces = tests::traces_in(&out);
    assert!(instances >= LIBRARIES.len(), "{instances} instances:\n{report}");
    assert_eq!(traces.len(), instances, "one trace per instance:\n{report}");
    for trace in &traces {
        let stem = trace.file_stem().unwrap().to_string_lossy();
        let module = stem.rsplit_once('-').map(|(name, _)| name).unwrap();
        assert!(
            out.join(format!("{module}.wasm")).is_file(),
            "no original module beside {}",
            trace.display()
        );
    }
    let failed = tests::replay_all(r3(), &out);
    let _ = std::fs::remove_dir_all(&work);
    assert!(failed.is_empty(), "replays failed: {failed:#?}");
}

#[test]
fn a_missing_page_or_browser_is_a_clear_error() {
    let work = tests::fresh_temp_dir("r3-browser-errors");
    let out = work.join("traces");
    let missing = record(&work.join("nosuch.html"), &out, &[]);
    assert!(!missing.status.success());
    assert!(report(&missing).contains("nosuch.html: no such file"), "{}", report(&missing));
    let page = work.join("empty.html");
    std::fs::write(&page, "<!doctype html>").unwrap();
    let no_browser = record(&page, &out, &["--chromium", "/nonexistent/chromium"]);
    let _ = std::fs::remove_dir_all(&work);
    assert!(!no_browser.status.success());
    assert!(report(&no_browser).contains("cannot start /nonexistent/chromium"), "{}", report(&no_browser));
}

/// `r3 record --browser` records modules the page instrumented beforehand, too, and the page
/// gets the same traces from `R3.traces()` (issue: "in a browser the page can fetch it through
/// the runtime's API").
#[test]
fn a_page_fetches_the_traces_of_the_generated_runtime_itself() {
    let work = tests::fresh_temp_dir("r3-browser-generated");
    let fib = fib_wasm();
    let (out, report) = record_site_page(&work, "generated.html", &[], |site_dir| {
        let instrument =
            Command::new(r3()).args(["instrument", "--hooks=r3", "-o"]).arg(site_dir).arg(&fib).output();
        assert!(instrument.unwrap().status.success());
    });
    assert!(report.contains("fib(50) = 12586269025, greet = 677538150, call_fib(10) = 55"), "{report}");
    let (name, hex) = report
        .lines()
        .find_map(|line| line.strip_prefix("trace ")?.split_once(' '))
        .unwrap_or_else(|| panic!("the page printed no trace:\n{report}"));
    let fetched: Vec<u8> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let written = std::fs::read(out.join(format!("{name}.r3"))).unwrap();
    assert_eq!(fetched, written, "the page's trace and the recorder's differ");
    // The page instrumented fib itself, so the original is not known to the recorder.
    let module = name.rsplit_once('-').unwrap().0;
    std::fs::copy(&fib, out.join(format!("{module}.wasm"))).unwrap();
    let failed = tests::replay_all(r3(), &out);
    let _ = std::fs::remove_dir_all(&work);
    assert!(failed.is_empty(), "replays failed: {failed:#?}");
}

/// A page's frames and dedicated workers are recorded too: one module instantiated by the page,
/// a worker and a frame gives three traces with instance numbers of their own (claimed at the
/// recording server), and each replays faithfully. With `--keep-returns`, the page's trace
/// holds the return its second call implies.
#[test]
fn the_frames_and_workers_of_a_page_are_recorded() {
    let work = tests::fresh_temp_dir("r3-browser-frames");
    let (out, report) = record_site_page(&work, "frames.html", &["--keep-returns"], |site_dir| {
        std::fs::copy(fib_wasm(), site_dir.join("fib.wasm")).unwrap();
    });
    let lines = ["page fib(19) = 4181, fib(20) = 6765", "worker fib(21) = 10946", "frame fib(22) = 17711"];
    for line in lines {
        assert!(report.contains(line), "no {line:?}:\n{report}");
    }
    let mut names: Vec<String> = tests::traces_in(&out)
        .iter()
        .map(|trace| trace.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["fib-0.r3", "fib-1.r3", "fib-2.r3"], "{report}");
    let page = r3_hooks::Trace::read(&std::fs::read(out.join("fib-0.r3")).unwrap()).unwrap();
    let returns = page.events.iter().filter(|event| matches!(event, r3_hooks::Event::ExportReturn { .. }));
    assert_eq!(returns.count(), 2, "{:?}", page.events);
    let failed = tests::replay_all(r3(), &out);
    let _ = std::fs::remove_dir_all(&work);
    assert!(failed.is_empty(), "replays failed: {failed:#?}");
}
