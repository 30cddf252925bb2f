//! The corpus runner: every program of a corpus recorded, replayed and checked end to end, one
//! row per program (see `tests::corpus`).
//!
//!   cargo run --release -p tests --bin corpus -- [--only SLUG] [--json FILE] [--corpus DIR]
//!   cargo run --release -p tests --bin corpus -- --from-json FILE --markdown docs/results.md

use anyhow::{Context, Result, bail};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use tests::corpus::{AppResult, Runner, report};

#[derive(Parser)]
#[command(about = "Record, replay and check every program of a corpus")]
struct Args {
    /// Only these programs (driver file names without .mjs); repeatable.
    #[arg(long)]
    only: Vec<String>,
    /// The corpus: a folder with setup.sh, drivers/*.mjs and manifest.tsv.
    #[arg(long, default_value_os_t = tests::corpus_definition())]
    corpus: PathBuf,
    /// Where setup.sh installs the corpus's packages (kept between runs).
    #[arg(long, default_value_os_t = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/corpus"))]
    install: PathBuf,
    /// Recordings and replays; a temporary folder (removed afterwards) by default.
    #[arg(long)]
    work: Option<PathBuf>,
    /// The benchmark suite the replays are packaged into (`r3 bench`); inside the work folder by default.
    #[arg(long)]
    suite: Option<PathBuf>,
    /// The r3 executable; by default the one beside this runner.
    #[arg(long)]
    r3: Option<PathBuf>,
    /// Programs run at the same time.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Write the results as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the results as Markdown (docs/results.md).
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Run nothing: read the results of an earlier run's --json.
    #[arg(long, value_name = "FILE")]
    from_json: Option<PathBuf>,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("corpus: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<bool> {
    let apps = match &args.from_json {
        Some(path) => {
            let json = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_slice(&json)
                .with_context(|| format!("{}: not the runner's JSON", path.display()))?
        }
        None => run_corpus(&args)?,
    };
    print!("{}", report::text(&apps));
    if let Some(path) = &args.json {
        write(path, &(serde_json::to_string_pretty(&apps)? + "\n"))?;
    }
    if let Some(path) = &args.markdown {
        let json = args.from_json.as_deref().or(args.json.as_deref());
        let command = match json {
            Some(json) => format!(
                "cargo run --release -p tests --bin corpus -- --from-json {} --markdown {}",
                json.display(),
                path.display()
            ),
            None => "cargo run --release -p tests --bin corpus".to_string(),
        };
        write(path, &report::markdown(&apps, &command))?;
    }
    Ok(apps.iter().all(AppResult::passed))
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

fn run_corpus(args: &Args) -> Result<Vec<AppResult>> {
    install(&args.corpus, &args.install)?;
    let mut drivers = tests::drivers_in(&args.corpus.join("drivers")).map_err(anyhow::Error::msg)?;
    if !args.only.is_empty() {
        let unknown: Vec<&String> = args
            .only
            .iter()
            .filter(|slug| {
                !drivers.iter().any(|driver| driver.file_stem().is_some_and(|stem| stem == slug.as_str()))
            })
            .collect();
        if !unknown.is_empty() {
            bail!("no driver named {unknown:?} in {}", args.corpus.join("drivers").display());
        }
        drivers.retain(|driver| {
            args.only.iter().any(|slug| driver.file_stem().is_some_and(|stem| stem == slug.as_str()))
        });
    }
    let temporary = args.work.is_none();
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("r3-corpus-{}", std::process::id())));
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    let manifest = args.corpus.join("manifest.tsv");
    let manifest =
        std::fs::read_to_string(&manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let runner = Runner {
        r3: r3_executable(args.r3.as_deref())?,
        node: tests::recording_node(),
        install: std::path::absolute(&args.install)?,
        suite: args.suite.clone().unwrap_or_else(|| work.join("suite")),
        work: work.clone(),
        packages: tests::corpus::packages(&manifest),
    };
    let apps = tests::over_drivers(&drivers, args.jobs, |driver, slug| {
        let app = runner.run(driver, slug);
        eprintln!("corpus: {slug}: {}", if app.passed() { "passed" } else { "FAILED" });
        app
    });
    if temporary {
        let _ = std::fs::remove_dir_all(&work);
    }
    Ok(apps)
}

/// setup.sh is idempotent: a folder that matches the lock file is left alone.
fn install(corpus: &Path, dir: &Path) -> Result<()> {
    let setup = corpus.join("setup.sh");
    let output = Command::new("bash")
        .arg(&setup)
        .arg(dir)
        .output()
        .with_context(|| format!("cannot run {}", setup.display()))?;
    if !output.status.success() {
        bail!("{} {} failed: {}", setup.display(), dir.display(), String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

fn r3_executable(given: Option<&Path>) -> Result<PathBuf> {
    let path = match given {
        Some(path) => path.to_path_buf(),
        None => std::env::current_exe()?.with_file_name("r3"),
    };
    if !path.is_file() {
        bail!(
            "{} not found: build it with `cargo build --release -p r3_replay` or pass --r3",
            path.display()
        );
    }
    Ok(path)
}
