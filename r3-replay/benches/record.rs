//! `cargo bench -p r3_replay --bench record`: every corpus driver run plainly and under
//! `r3 record` in the same session, alternating, median of 5 (`R3_BENCH_RUNS`); events, trace
//! bytes and the reduction against naive tracing from the recording. Instrumentation is cached
//! across runs (one warm-up recording first), so the overhead is the recording's own.
//! `R3_BENCH_ONLY=slug,slug` restricts the drivers; node is `tests::recording_node()`.

use r3_hooks::Trace;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn main() {
    let only: Option<Vec<String>> =
        std::env::var("R3_BENCH_ONLY").ok().map(|list| list.split(',').map(str::to_string).collect());
    let runs: usize = std::env::var("R3_BENCH_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(5);
    let drivers: Vec<PathBuf> = tests::corpus_drivers()
        .into_iter()
        .filter(|path| {
            only.as_ref()
                .is_none_or(|only| only.iter().any(|slug| path.file_stem().unwrap() == slug.as_str()))
        })
        .collect();
    let work = std::env::temp_dir().join(format!("r3-bench-{}", std::process::id()));
    println!(
        "| app | plain s | recorded s | overhead | instances | events | trace KB | naive events | reduction | note |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut overheads = Vec::new();
    let mut reductions = Vec::new();
    let (mut events, mut naive) = (0, 0);
    for driver in &drivers {
        let slug = driver.file_stem().unwrap().to_string_lossy().into_owned();
        match bench(driver, &work.join(&slug), runs) {
            Ok(row) => {
                overheads.push(row.recorded.as_secs_f64() / row.plain.as_secs_f64());
                reductions.push(row.reduction());
                (events, naive) = (events + row.events, naive + row.naive);
                println!("{}", row.markdown(&slug));
            }
            Err(error) => println!("| {slug} | failed: {} |", error.replace('\n', " ")),
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    overheads.sort_by(f64::total_cmp);
    if let (Some(median), Some(max)) = (overheads.get(overheads.len() / 2), overheads.last()) {
        println!("\nmedian overhead {median:.2}x, max {max:.2}x over {} apps", overheads.len());
    }
    if !reductions.is_empty() {
        let mean = reductions.iter().sum::<f64>() / reductions.len() as f64;
        let all = 100.0 * (1.0 - events as f64 / naive.max(1) as f64);
        println!("mean reduction {mean:.2}% per app; {all:.2}% of all naive events");
    }
}

struct Row {
    plain: Duration,
    recorded: Duration,
    instances: usize,
    events: u64,
    trace_bytes: u64,
    naive: u64,
    note: &'static str,
}

impl Row {
    /// Share of the naive events the recording did not need, in percent.
    fn reduction(&self) -> f64 {
        100.0 * (1.0 - self.events as f64 / self.naive.max(1) as f64)
    }

    fn markdown(&self, slug: &str) -> String {
        format!(
            "| {slug} | {:.2} | {:.2} | {:.2}x | {} | {} | {:.0} | {} | {:.3}% | {} |",
            self.plain.as_secs_f64(),
            self.recorded.as_secs_f64(),
            self.recorded.as_secs_f64() / self.plain.as_secs_f64(),
            self.instances,
            self.events,
            self.trace_bytes as f64 / 1e3,
            self.naive,
            self.reduction(),
            self.note,
        )
    }
}

fn bench(driver: &Path, work: &Path, runs: usize) -> Result<Row, String> {
    let cache = work.join("cache");
    let out = work.join("traces");
    let expected = run(plain(driver))?.0;
    record(driver, &out, &cache)?; // warm-up: fills the instrumentation cache
    let (mut plain_times, mut recorded_times) = (Vec::new(), Vec::new());
    let mut row_note = "";
    for _ in 0..runs {
        let (_, time) = run(plain(driver))?;
        plain_times.push(time);
        let (digest, time) = record(driver, &out, &cache)?;
        // Clock-dependent drivers (fonteditor) may change their digest between any two runs:
        // those are flagged, not dropped (the corpus runner, tests/src/corpus/, checks digests with retries).
        if digest != expected && run(plain(driver))?.0 != digest {
            row_note = "digest varied";
        }
        recorded_times.push(time);
    }
    let mut row = Row {
        plain: median(plain_times),
        recorded: median(recorded_times),
        instances: 0,
        events: 0,
        trace_bytes: 0,
        naive: 0,
        note: row_note,
    };
    for entry in std::fs::read_dir(&out).map_err(|error| error.to_string())? {
        let path = entry.map_err(|error| error.to_string())?.path();
        if path.extension().is_none_or(|ext| ext != "r3") {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(|error| error.to_string())?;
        let stats = Trace::read(&bytes).map_err(|error| format!("{}: {error}", path.display()))?.stats();
        row.instances += 1;
        row.events += stats.events;
        row.trace_bytes += bytes.len() as u64;
        row.naive += stats.naive_events.unwrap_or(0);
    }
    Ok(row)
}

fn plain(driver: &Path) -> Command {
    let mut command = Command::new(tests::recording_node());
    command.arg(driver);
    command
}

fn record(driver: &Path, out: &Path, cache: &Path) -> Result<(String, Duration), String> {
    let _ = std::fs::remove_dir_all(out);
    let mut command = Command::new(env!("CARGO_BIN_EXE_r3"));
    command.args(["record", "-o"]).arg(out).arg("--").arg(tests::recording_node()).arg(driver);
    command.env("WASABI_CACHE", cache);
    run(command)
}

/// The program's last stdout line (the drivers' digest) and its wall time.
fn run(mut command: Command) -> Result<(String, Duration), String> {
    let start = Instant::now();
    let digest = tests::driver_digest(&mut command)?;
    Ok((digest, start.elapsed()))
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
