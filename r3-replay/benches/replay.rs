//! `cargo bench -p r3_replay --bench replay`: every corpus driver recorded once, then per
//! trace: replay generation speed (events/s, host module + merge), replay.wasm size and the
//! replay code share (generated code, without its data: memory contents and tape, over the replay's
//! bytes), and the merged replay's run time in node 22 against the plain program's (median of
//! `R3_BENCH_RUNS`, default 3). `R3_BENCH_ONLY=slug,slug` restricts the drivers.

use r3_hooks::Trace;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let only: Option<Vec<String>> =
        std::env::var("R3_BENCH_ONLY").ok().map(|list| list.split(',').map(str::to_string).collect());
    let runs: usize = std::env::var("R3_BENCH_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(3);
    let work = std::env::temp_dir().join(format!("r3-replay-bench-{}", std::process::id()));
    println!(
        "| app | trace | events | generation | events/s | replay.wasm KB | memory contents KB | code share | plain s | replay s |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut shares = Vec::new();
    for driver in tests::corpus_drivers() {
        let slug = driver.file_stem().unwrap().to_string_lossy().into_owned();
        if only.as_ref().is_some_and(|only| !only.contains(&slug)) {
            continue;
        }
        match bench(&driver, &work.join(&slug), runs) {
            Ok(rows) => {
                for row in rows {
                    shares.push(row.code_share());
                    println!("{}", row.markdown(&slug));
                }
            }
            Err(error) => println!("| {slug} | failed: {} |", error.replace('\n', " ")),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    shares.sort_by(f64::total_cmp);
    if let Some(median) = shares.get(shares.len() / 2) {
        println!("\nmedian replay code share {median:.2}% over {} traces", shares.len());
    }
}

struct Row {
    trace: String,
    events: usize,
    generation: Duration,
    replay_bytes: usize,
    code_bytes: usize,
    data_bytes: usize,
    plain: Duration,
    /// `None`: the replay did not end as recorded.
    replay: Option<Duration>,
}

impl Row {
    fn code_share(&self) -> f64 {
        100.0 * self.code_bytes as f64 / self.replay_bytes as f64
    }

    fn markdown(&self, slug: &str) -> String {
        format!(
            "| {slug} | {} | {} | {:.2}s | {:.0} | {:.0} | {:.0} | {:.2}% | {:.2} | {} |",
            self.trace,
            self.events,
            self.generation.as_secs_f64(),
            self.events as f64 / self.generation.as_secs_f64(),
            self.replay_bytes as f64 / 1e3,
            self.data_bytes as f64 / 1e3,
            self.code_share(),
            self.plain.as_secs_f64(),
            self.replay.map_or("failed".to_string(), |replay| format!("{:.2}", replay.as_secs_f64())),
        )
    }
}

fn bench(driver: &Path, work: &Path, runs: usize) -> Result<Vec<Row>, String> {
    let traces = work.join("traces");
    let mut record = Command::new(env!("CARGO_BIN_EXE_r3"));
    record.args(["record", "-o"]).arg(&traces).arg("--").arg(tests::recording_node()).arg(driver);
    tests::driver_digest(&mut record)?;
    let plain = median((0..runs).map(|_| time(plain(driver))).collect::<Result<_, _>>()?);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&traces)
        .map_err(|error| error.to_string())?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "r3"))
        .collect();
    paths.sort();
    paths.iter().map(|path| replay(path, work, plain, runs)).collect()
}

fn replay(path: &Path, work: &Path, plain: Duration, runs: usize) -> Result<Row, String> {
    let trace = Trace::read(&std::fs::read(path).map_err(|error| error.to_string())?)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let module = stem.rsplit_once('-').map_or(stem.as_str(), |(module, _)| module);
    let original =
        std::fs::read(path.with_file_name(format!("{module}.wasm"))).map_err(|error| error.to_string())?;
    let start = Instant::now();
    let host = r3_replay::replay::generate(&trace, &original, &format!("{module}.wasm"))
        .map_err(|error| format!("{stem}: {error}"))?;
    let merged =
        r3_replay::merge::merge(&host.bytes, &original).map_err(|error| format!("{stem}: {error}"))?;
    let generation = start.elapsed();
    let replay_path = work.join(format!("{stem}.replay.wasm"));
    std::fs::write(&replay_path, &merged).map_err(|error| error.to_string())?;
    // The engine of the plain run (node 22), which also runs replays that need Wasm GC.
    let mut node = Command::new(tests::recording_node());
    node.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("js/run.mjs")).arg(&replay_path);
    let replay = (0..runs).map(|_| time_status(&mut node)).collect::<Result<_, _>>().ok().map(median);
    Ok(Row {
        trace: stem.clone(),
        events: trace.events.len(),
        generation,
        replay_bytes: merged.len(),
        code_bytes: host.bytes.len() - host.data_bytes,
        data_bytes: host.data_bytes,
        plain,
        replay,
    })
}

fn plain(driver: &Path) -> Command {
    let mut command = Command::new(tests::recording_node());
    command.arg(driver);
    command
}

fn time(mut command: Command) -> Result<Duration, String> {
    let start = Instant::now();
    tests::driver_digest(&mut command)?;
    Ok(start.elapsed())
}

fn time_status(command: &mut Command) -> Result<Duration, String> {
    let start = Instant::now();
    let output = command.output().map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(format!("replay failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    Ok(start.elapsed())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
