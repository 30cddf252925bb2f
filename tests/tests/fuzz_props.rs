//! The fuzzing properties (`tests::fuzz`, also the cargo-fuzz targets in `fuzz/`) over a
//! fixed range of seeds, so every CI run checks them on the same 2,000 generated modules each.
//! `FUZZ_SEEDS=N` checks seeds 0 to N-1 instead (longer local runs), `FUZZ_SEEDS=A..B` seeds
//! A to B-1 (one failing seed: `FUZZ_SEEDS=425..426`).

use rayon::prelude::*;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tests::fuzz::{self, Property};

/// Input size per seed: 1 to 8 KiB, so modules range from tiny to a few dozen functions.
fn input(name: &str, seed: u64) -> Vec<u8> {
    fuzz::seed_bytes(name, seed, 1024 * (1 + (seed % 8) as usize))
}

fn seeds() -> std::ops::Range<u64> {
    let Ok(seeds) = std::env::var("FUZZ_SEEDS") else { return 0..2_000 };
    let range = match seeds.split_once("..") {
        Some((start, end)) => start.parse().and_then(|start| Ok(start..end.parse()?)),
        None => seeds.parse().map(|end| 0..end),
    };
    range.unwrap_or_else(|_| panic!("FUZZ_SEEDS={seeds}: expected N or A..B"))
}

/// Seeds of `name` that fail, each with its error or panic message.
fn failures(name: &str, property: Property) -> Vec<String> {
    let mut failures: Vec<(u64, String)> = seeds()
        .into_par_iter()
        .filter_map(|seed| {
            let data = input(name, seed);
            let verdict = catch_unwind(AssertUnwindSafe(|| property(&data)));
            match verdict {
                Ok(Ok(())) => None,
                Ok(Err(error)) => Some((seed, error)),
                Err(panic) => Some((seed, format!("panicked: {}", panic_message(&*panic)))),
            }
        })
        .collect();
    failures.sort();
    failures.into_iter().map(|(seed, error)| format!("{name} seed {seed}: {error}")).collect()
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic.downcast_ref::<&str>().map(|text| text.to_string());
    text.or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into())
}

fn check(name: &str) {
    let (_, property) = fuzz::PROPERTIES.iter().find(|(known, _)| *known == name).expect("a known property");
    let failures = failures(name, *property);
    assert!(
        failures.is_empty(),
        "{} of {} seeds fail:\n{}",
        failures.len(),
        seeds().count(),
        failures.join("\n")
    );
}

/// The seeds are not vacuous: nearly all of them make a module with functions to call.
#[test]
fn seeds_generate_modules_with_exports() {
    let with_exports = (0..200)
        .filter(|seed| {
            let Some((bytes, _)) = fuzz::generate(&input("roundtrip", *seed), None) else { return false };
            wasmparser::Parser::new(0).parse_all(&bytes).any(|payload| {
                matches!(payload, Ok(wasmparser::Payload::ExportSection(exports)) if exports.count() > 0)
            })
        })
        .count();
    assert!(with_exports >= 150, "only {with_exports} of 200 seeds make a module with exports");
}

#[test]
fn roundtrip_is_the_identity_up_to_encoding() {
    check("roundtrip");
}

#[test]
fn instrumented_modules_behave_as_the_original() {
    check("instrument");
}

#[test]
fn replays_check_equal_to_their_recording() {
    check("record_replay");
}
