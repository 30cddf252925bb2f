//! `cargo bench -p wasabi`: instrumentation with all hooks, MB/s and peak RSS, on 1 and 2
//! threads, next to a plain wasmparser → wasm-encoder re-encode (the ceiling).
//!
//! Inputs: the largest `.wasm` of the corpus (`$CORPUS_DIR`, default `target/corpus`) and
//! opencv.wasm (upstream Wasabi's reference: ~3 MB/s, 970 MB peak with all hooks). Each
//! (input, method) runs in a child process so that peak RSS is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

const CHILD_ENV: &str = "WASABI_BENCH_CHILD";
const ITERATIONS: usize = 3;

/// (name, threads; 0 = plain re-encode)
const METHODS: [(&str, usize); 3] = [
    ("plain reencode (1 thread)", 0),
    ("wasabi, all hooks (1 thread)", 1),
    ("wasabi, all hooks (2 threads)", 2),
];

fn main() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        child(&job);
        return;
    }
    let corpus = tests::corpus_dir();
    let mut inputs: Vec<PathBuf> = tests::largest_wasm(&corpus).into_iter().collect();
    inputs
        .extend(tests::wasm_files(&corpus).into_iter().filter(|path| path.ends_with("opencv.wasm")).take(1));
    println!("| input | MB | method | MB/s | time vs plain | peak RSS MB | RSS / input |");
    println!("|---|---|---|---|---|---|---|");
    for input in &inputs {
        report(input);
    }
}

fn report(input: &Path) {
    let label = input.file_name().unwrap().to_string_lossy();
    let megabytes = input.metadata().unwrap().len() as f64 / 1e6;
    let mut plain_time = None;
    for (index, (name, _)) in METHODS.iter().enumerate() {
        let (time, peak_kb) = run_child(index, input);
        let plain = *plain_time.get_or_insert(time);
        println!(
            "| {label} | {megabytes:.1} | {name} | {:.1} | {:.2}x | {:.0} | {:.1}x |",
            megabytes / time.as_secs_f64(),
            time.as_secs_f64() / plain.as_secs_f64(),
            peak_kb as f64 / 1e3,
            peak_kb as f64 / 1e3 / megabytes,
        );
    }
}

fn run_child(method: usize, input: &Path) -> (Duration, u64) {
    let output = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, format!("{method}:{}", input.display()))
        .output()
        .expect("bench child runs");
    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut fields = stdout.split_whitespace().map(|field| field.parse::<u64>().unwrap());
    (Duration::from_nanos(fields.next().unwrap()), fields.next().unwrap())
}

/// Prints the median time of a few iterations and the process's peak RSS in kB.
fn child(job: &str) {
    let (method, path) = job.split_once(':').unwrap();
    let (_, threads) = METHODS[method.parse::<usize>().unwrap()];
    let input = std::fs::read(path).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build().unwrap();
    let hooks = wasabi::HookSet::all();
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            let bytes = pool.install(|| match threads {
                0 => plain_reencode(&input),
                _ => {
                    let instrumented = wasabi::instrument(&input, &hooks).unwrap();
                    let mut wasm = std::io::sink();
                    instrumented.write_wasm(&mut wasm).unwrap();
                    wasabi::js::generate(&instrumented, false).len()
                }
            });
            std::hint::black_box(bytes);
            start.elapsed()
        })
        .collect();
    times.sort();
    println!("{} {}", times[ITERATIONS / 2].as_nanos(), tests::peak_rss_kb());
}

fn plain_reencode(input: &[u8]) -> usize {
    let mut module = wasm_encoder::Module::new();
    RoundtripReencoder.parse_core_module(&mut module, wasmparser::Parser::new(0), input).unwrap();
    module.finish().len()
}
