//! The fuzzing properties (`tests::fuzz`, also the cargo-fuzz targets in `fuzz/`) over a
//! fixed range of seeds, so every CI run checks them on the same 2,000 generated modules each.
//! `FUZZ_SEEDS=N` checks seeds 0 to N-1 instead (longer local runs), `FUZZ_SEEDS=A..B` seeds
//! A to B-1 (one failing seed: `FUZZ_SEEDS=425..426`). Each prints how many seeds it
//! checked and why it skipped the others (`cargo test ... -- --nocapture`).

use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use tests::fuzz::{self, Property, Verdict};

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

/// Seeds of `name` that fail, each with its error or panic message; and how many seeds were
/// checked, by `"checked"` and by each reason for skipping.
fn failures(name: &str, property: Property) -> (Vec<String>, BTreeMap<&'static str, usize>) {
    let verdicts: Vec<(u64, Result<Verdict, String>)> = seeds()
        .into_par_iter()
        .map(|seed| {
            let data = input(name, seed);
            let verdict = catch_unwind(AssertUnwindSafe(|| property(&data)));
            (seed, verdict.unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic)))))
        })
        .collect();
    let mut counts = BTreeMap::new();
    let mut failures = Vec::new();
    for (seed, verdict) in verdicts {
        match verdict {
            Ok(Verdict::Holds) => *counts.entry("checked").or_default() += 1,
            Ok(Verdict::Skipped(reason)) => *counts.entry(reason).or_default() += 1,
            Err(error) => failures.push(format!("{name} seed {seed}: {error}")),
        }
    }
    (failures, counts)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic.downcast_ref::<&str>().map(|text| text.to_string());
    text.or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into())
}

fn check(name: &str) {
    let (_, property) = fuzz::PROPERTIES.iter().find(|(known, _)| *known == name).expect("a known property");
    let (failures, counts) = failures(name, *property);
    let counts: Vec<String> = counts.iter().map(|(what, count)| format!("{count} {what}")).collect();
    println!("{name}: {} seeds, {}, {} failed", seeds().count(), counts.join(", "), failures.len());
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

/// Seed 11,852 (outside CI's range): a function calls an import, then itself, about 1,600 deep
/// until the stack runs out inside the import call (the recorder's forwarder), which the trace
/// has as `import_throw`, `export_throw`; the replay's frames differ, so its stack ran out a few
/// calls earlier and `r3 check` found the traces different. Not comparable, so not compared.
#[test]
fn seed_11852_ran_out_of_stack_in_an_import() {
    let verdict = fuzz::record_replay_check(&input("record_replay", 11_852));
    assert_eq!(verdict, Ok(Verdict::Skipped(fuzz::OUT_OF_STACK)));
}

/// The same, hand-written: each call of `deep` calls the import and then itself without end,
/// so the stack runs out in the import call (the recorder's frames there are deeper than the
/// module's own) and the recording ends with `import_throw`, `export_throw`.
#[test]
fn recording_out_of_stack_in_an_import_is_not_compared() {
    let text = r#"(module
        (import "" "f" (func $f (result i32)))
        (func $deep (export "deep") (result i32)
            call $f
            call $deep
            i32.add))"#;
    let buffer = wast::parser::ParseBuffer::new(text).expect("the text lexes");
    let mut wat = wast::parser::parse::<wast::Wat>(&buffer).expect("the text parses");
    let module = wat.encode().expect("the module encodes");
    assert_eq!(fuzz::record_replay_module(&module, &[]), Ok(Verdict::Skipped(fuzz::OUT_OF_STACK)));
}
