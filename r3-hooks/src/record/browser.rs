//! Recording a web page: a node script (`js/record-browser.mjs`) serves the page, starts
//! headless Chromium, injects the recorder before the page's scripts over the DevTools protocol
//! and instruments every module the page compiles (by calling back into the `r3` executable,
//! like the node preload); at the end it collects the traces from the page and writes them.

use super::node::{Instrumenter, RecordError, Recording, traces_written_since};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The node side: server, Chromium driver, trace writer.
pub const DRIVER: &str = include_str!("../../js/record-browser.mjs");
/// The page side, evaluated after the recorder and the compile patch.
pub const PAGE_RUNTIME: &str = include_str!("../../js/browser-runtime.js");

pub struct BrowserOptions {
    /// The Chromium executable; else the first of chromium, chromium-browser, google-chrome on PATH.
    pub chromium: Option<PathBuf>,
    /// A node >= 22; else `$R3_NODE`, `node` if it is new enough, or `npx -y node@22`.
    pub node: Option<PathBuf>,
    /// How long the page gets to call `R3.done()`.
    pub timeout_secs: u64,
    /// Every `export_return` in the traces (docs/trace-format.md, "Call-stack optimisation").
    pub keep_returns: bool,
}

/// Records `page` (an HTML file, whose directory is served over http, or a URL) into `out_dir`.
pub fn record(
    page: &str,
    out_dir: &Path,
    options: &BrowserOptions,
    instrumenter: &Instrumenter,
) -> Result<Recording, RecordError> {
    let page_env = page_env(page)?;
    let chromium = options.chromium.clone().or_else(find_chromium).ok_or(RecordError::NoChromium)?;
    let output_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RecordError::Output { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(output_error(out_dir))?;
    let out_dir = std::path::absolute(out_dir).map_err(output_error(out_dir))?;
    let work = std::env::temp_dir().join(format!("r3-browser-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(output_error(&work))?;
    let driver = write_scripts(&work).map_err(output_error(&work))?;
    let started = std::time::SystemTime::now();
    let node = node_command(options.node.as_deref());
    let cache_dir = std::env::var_os("WASABI_CACHE").map(PathBuf::from);
    let mut command = Command::new(&node[0]);
    if options.keep_returns {
        command.env("R3_KEEP_RETURNS", "1");
    }
    let status = command
        .args(&node[1..])
        .arg(&driver)
        .env(page_env.0, page_env.1)
        .env("R3_TRACE_DIR", &out_dir)
        .env("R3_CHROMIUM", chromium)
        .env("R3_TIMEOUT", options.timeout_secs.to_string())
        .env("WASABI_BIN", &instrumenter.executable)
        .env("WASABI_BIN_ARGS", instrumenter.args.join(" "))
        .env("WASABI_CACHE", cache_dir.unwrap_or_else(|| work.join("cache")))
        .env_remove("NODE_OPTIONS")
        .status()
        .map_err(|source| RecordError::Start { program: node.join(" "), source });
    let _ = std::fs::remove_dir_all(&work);
    let status = status?;
    Ok(Recording { status, traces: traces_written_since(&out_dir, started), unfinished: Vec::new() })
}

/// The driver's environment variable for the page: a file to serve, or a URL to load.
fn page_env(page: &str) -> Result<(&'static str, PathBuf), RecordError> {
    let path = Path::new(page);
    if path.is_file() {
        let path = std::path::absolute(path)
            .map_err(|source| RecordError::Output { path: path.to_path_buf(), source })?;
        return Ok(("R3_PAGE_FILE", path));
    }
    if ["http://", "https://", "file://"].iter().any(|scheme| page.starts_with(scheme)) {
        return Ok(("R3_PAGE_URL", PathBuf::from(page)));
    }
    Err(RecordError::NoPage(page.to_string()))
}

/// Writes the driver and the scripts it reads; returns the driver's path.
fn write_scripts(dir: &Path) -> std::io::Result<PathBuf> {
    for (name, text) in [
        ("recorder.js", wasabi::js::RECORDER),
        ("compile-patch.cjs", wasabi::js::COMPILE_PATCH),
        ("instrumenter.cjs", wasabi::js::INSTRUMENTER),
        ("browser-runtime.js", PAGE_RUNTIME),
    ] {
        std::fs::write(dir.join(name), text)?;
    }
    let driver = dir.join("record-browser.mjs");
    std::fs::write(&driver, DRIVER)?;
    Ok(driver)
}

fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

/// The command that runs the driver: it needs node >= 22 for its global WebSocket.
fn node_command(node: Option<&Path>) -> Vec<String> {
    let explicit =
        node.map(|node| node.to_string_lossy().into_owned()).or_else(|| std::env::var("R3_NODE").ok());
    if let Some(node) = explicit {
        return vec![node];
    }
    let version = Command::new("node").args(["-p", "process.versions.node"]).output();
    let major = version.ok().and_then(|output| {
        String::from_utf8_lossy(&output.stdout)
            .split('.')
            .next()
            .and_then(|major| major.trim().parse::<u32>().ok())
    });
    if major.is_some_and(|major| major >= 22) {
        vec!["node".into()]
    } else {
        ["npx", "-y", "node@22"].map(String::from).to_vec()
    }
}
