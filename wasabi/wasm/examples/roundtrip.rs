//! Decodes a module (binary or text) into the IR, encodes it again, validates the result and
//! writes it: `cargo run --release -p wasabi_wasm --example roundtrip -- IN.wasm|IN.wat OUT.wasm`.

use anyhow::{Context, Result, bail};
use std::time::Instant;
use wasabi_wasm::{Module, supported_features, validate};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else { bail!("usage: roundtrip INPUT.wasm|INPUT.wat OUTPUT.wasm") };
    let bytes = wat::parse_file(input).with_context(|| format!("reading {input}"))?;
    let start = Instant::now();
    let module = Module::decode(&bytes).with_context(|| format!("decoding {input}"))?;
    let decoded = start.elapsed();
    let encoded = module.encode();
    let total = start.elapsed();
    validate(&encoded, supported_features()).context("validating the re-encoded module")?;
    let instructions: usize = module.functions.iter().map(|f| f.body.len()).sum();
    println!(
        "{input}: {} bytes, {} functions, {instructions} instructions; decoded in {decoded:.2?}, encoded in {:.2?}",
        bytes.len(),
        module.functions.len(),
        total - decoded,
    );
    let verdict = if encoded == bytes { "byte-identical" } else { "valid, re-encoded" };
    if let Some(dir) = std::path::Path::new(output).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(output, &encoded).with_context(|| format!("writing {output}"))?;
    println!("{output}: {} bytes, {verdict}", encoded.len());
    Ok(())
}
