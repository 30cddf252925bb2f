//! (a) decode → IR → encode: the output validates and is the input up to encoding (LEB128
//! widths, section sizes), which is what comparing the printed text checks.

use super::{NO_MODULE, Verdict};
use wasabi_wasm::supported_features;

pub fn roundtrip(data: &[u8]) -> Result<Verdict, String> {
    let Some((bytes, _)) = super::generate(data, None) else { return Ok(Verdict::Skipped(NO_MODULE)) };
    let encoded = wasabi_wasm::roundtrip(&bytes, supported_features()).map_err(|error| error.to_string())?;
    let expected = normalized(&print(&bytes)?);
    let actual = normalized(&print(&encoded)?);
    if expected == actual {
        return Ok(Verdict::Holds);
    }
    Err(format!("the roundtrip changed the module:\n{}", first_difference(&expected, &actual)))
}

pub(super) fn print(bytes: &[u8]) -> Result<String, String> {
    wasmprinter::print_bytes(bytes).map_err(|error| format!("wasmprinter: {error}"))
}

/// The text without what only the encoding chose: an active element segment of table 0 may
/// name the table or not (flags 2 or 0), and the IR keeps the table, not the flags.
fn normalized(text: &str) -> String {
    let line = |line: &str| match line.trim_start().starts_with("(elem ") {
        true => line.replacen(" (table 0)", "", 1),
        false => line.to_string(),
    };
    text.lines().map(line).collect::<Vec<_>>().join("\n")
}

/// The first differing line of two printed modules (which differ), with its line number.
fn first_difference(expected: &str, actual: &str) -> String {
    let lines = expected.lines().count().max(actual.lines().count());
    let mut pairs = padded(expected, lines).zip(padded(actual, lines)).enumerate();
    match pairs.find(|(_, (left, right))| left != right) {
        Some((index, (left, right))) => {
            let show = |side: Option<&str>| side.unwrap_or("(end)").trim().to_string();
            format!("line {}: input `{}`, output `{}`", index + 1, show(left), show(right))
        }
        None => "the printed texts are equal".into(),
    }
}

fn padded(text: &str, lines: usize) -> impl Iterator<Item = Option<&str>> {
    text.lines().map(Some).chain(std::iter::repeat(None)).take(lines + 1)
}
