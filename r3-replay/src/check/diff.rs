//! Comparing a replay's trace with the recorded one. Equal means: same module, the same events
//! in the same order, except what legitimately differs between runs: trap messages (engine
//! specific), host value ids (numbered by first appearance per recorder, so compared modulo a
//! consistent renaming) and `end.naive_events` (a statistic).

use r3_hooks::{Event, Trace, Value};
use std::collections::HashMap;
use thiserror::Error;

/// The first difference between the recorded trace ("expected") and the replay's ("actual").
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Mismatch {
    #[error("the traces are of different modules (sha256 {expected} recorded, {actual} replayed)")]
    Module { expected: String, actual: String },
    /// At event `index` of the recorded trace and event `replayed` of the replay's (they
    /// differ where one trace left out an implied `export_return`); `None`: that trace ended.
    #[error("the traces differ at event {index}")]
    Event { index: usize, replayed: usize, expected: Option<Box<Event>>, actual: Option<Box<Event>> },
    #[error("the traces agree but have no end event: the recording was cut short")]
    Unended,
}

/// `Ok` if the replay's trace `actual` equals the recorded `expected` under the rules above.
pub fn compare(expected: &Trace, actual: &Trace) -> Result<(), Mismatch> {
    if expected.header.module_sha256 != actual.header.module_sha256 {
        return Err(Mismatch::Module {
            expected: expected.header.module_sha256.clone(),
            actual: actual.header.module_sha256.clone(),
        });
    }
    let mut renaming = Renaming::default();
    let (left, right) = (&expected.events, &actual.events);
    let (mut i, mut j) = (0, 0);
    while i < left.len() || j < right.len() {
        let same = match (left.get(i), right.get(j)) {
            (Some(a), Some(b)) => renaming.same_event(a, b),
            _ => false,
        };
        if same {
            (i, j) = (i + 1, j + 1);
        } else if implied_return(left, i, right.get(j)) {
            i += 1;
        } else if implied_return(right, j, left.get(i)) {
            j += 1;
        } else if ended_inside_import(&left[i..], &right[j..]) {
            return Ok(());
        } else {
            let (expected, actual) =
                (left.get(i).cloned().map(Box::new), right.get(j).cloned().map(Box::new));
            return Err(Mismatch::Event { index: i, replayed: j, expected, actual });
        }
    }
    match expected.events.last() {
        Some(Event::End { .. }) => Ok(()),
        _ => Err(Mismatch::Unended),
    }
}

/// Whether `events[index]` is an `export_return` that the other trace left out, as recorders
/// may where an `export_call` follows (docs/trace-format.md, "Call-stack optimisation").
fn implied_return(events: &[Event], index: usize, other: Option<&Event>) -> bool {
    matches!(
        (events.get(index), events.get(index + 1), other),
        (Some(Event::ExportReturn { .. }), Some(Event::ExportCall { .. }), Some(Event::ExportCall { .. }))
    )
}

/// The recording ended inside an import call (the program exited from it: the trace ends with
/// that `import_call`), and the replay, which traps there, unwinds every open call instead.
fn ended_inside_import(expected: &[Event], actual: &[Event]) -> bool {
    let [Event::ImportCall { func, .. }, Event::End { .. }] = expected else { return false };
    let unwinding = match actual {
        [Event::ImportCall { func: called, .. }, Event::ImportThrow { func: thrown }, rest @ ..]
            if called == func && thrown == func =>
        {
            rest
        }
        [Event::ImportThrow { func: thrown }, rest @ ..] if thrown == func => rest,
        _ => return false,
    };
    let Some((Event::End { .. }, unwound)) = unwinding.split_last() else { return false };
    unwound.iter().all(|event| {
        matches!(event, Event::ExportThrow | Event::ExportTrap { .. } | Event::ImportThrow { .. })
    })
}

/// Host value ids and foreign function ids of one trace mapped to the other's, one to one.
#[derive(Default)]
struct Renaming {
    externs: IdMap,
    foreign: IdMap,
}

#[derive(Default)]
struct IdMap {
    forward: HashMap<u64, u64>,
    backward: HashMap<u64, u64>,
}

impl Renaming {
    fn same_event(&mut self, left: &Event, right: &Event) -> bool {
        use Event::*;
        match (left, right) {
            (ExportCall { func: f, name: n, args: a }, ExportCall { func: g, name: m, args: b }) => {
                f == g && n == m && self.same_values(a, b)
            }
            (ExportReturn { results: a }, ExportReturn { results: b }) => self.same_values(a, b),
            (ExportTrap { .. }, ExportTrap { .. }) => true,
            (ImportCall { func: f, args: a }, ImportCall { func: g, args: b }) => {
                f == g && self.same_values(a, b)
            }
            (ImportReturn { func: f, results: a }, ImportReturn { func: g, results: b }) => {
                f == g && self.same_values(a, b)
            }
            (TableSet { table: t, index: i, value: a }, TableSet { table: u, index: j, value: b }) => {
                t == u && i == j && self.same_value(a, b)
            }
            (TableGrow { table: t, size: s, init: a }, TableGrow { table: u, size: z, init: b }) => {
                t == u && s == z && self.same_value(a, b)
            }
            (GlobalSet { global: g, value: a }, GlobalSet { global: h, value: b }) => {
                g == h && self.same_value(a, b)
            }
            (Foreign { id: a, params: p, results: r }, Foreign { id: b, params: q, results: s }) => {
                p == q && r == s && self.foreign.same(*a, *b)
            }
            (ForeignCall { id: a, args: x }, ForeignCall { id: b, args: y }) => {
                self.foreign.same(*a, *b) && self.same_values(x, y)
            }
            (ForeignReturn { id: a, results: x }, ForeignReturn { id: b, results: y }) => {
                self.foreign.same(*a, *b) && self.same_values(x, y)
            }
            (ForeignThrow { id: a }, ForeignThrow { id: b }) => self.foreign.same(*a, *b),
            (End { .. }, End { .. }) => true,
            // The rest hold no host values or messages: plain equality.
            _ => left == right,
        }
    }

    fn same_values(&mut self, left: &[Value], right: &[Value]) -> bool {
        left.len() == right.len() && left.iter().zip(right).all(|(a, b)| self.same_value(a, b))
    }

    fn same_value(&mut self, left: &Value, right: &Value) -> bool {
        match (left, right) {
            (Value::ExternRef(Some(a)), Value::ExternRef(Some(b))) => self.externs.same(*a, *b),
            (Value::Foreign(a), Value::Foreign(b)) => self.foreign.same(*a, *b),
            // A signalling NaN that crosses a JS boundary may arrive quieted (V8 sets the
            // quiet bit); the payload survives.
            (Value::F32(a), Value::F32(b)) => quieted_f32(*a) == quieted_f32(*b),
            (Value::F64(a), Value::F64(b)) => quieted_f64(*a) == quieted_f64(*b),
            _ => left == right,
        }
    }
}

impl IdMap {
    /// Whether `a` and `b` are the same host value: the first time either is seen binds them.
    fn same(&mut self, a: u64, b: u64) -> bool {
        match (self.forward.get(&a), self.backward.get(&b)) {
            (None, None) => {
                self.forward.insert(a, b);
                self.backward.insert(b, a);
                true
            }
            (Some(&to), Some(&from)) => to == b && from == a,
            _ => false,
        }
    }
}

/// The mismatch for people: both versions of the divergent event, with `around` events
/// either side from each trace (`>` marks the divergent one).
fn quieted_f32(bits: u32) -> u32 {
    if f32::from_bits(bits).is_nan() { bits | 0x0040_0000 } else { bits }
}

fn quieted_f64(bits: u64) -> u64 {
    if f64::from_bits(bits).is_nan() { bits | 0x0008_0000_0000_0000 } else { bits }
}

pub fn render(mismatch: &Mismatch, expected: &Trace, actual: &Trace, around: usize) -> String {
    let Mismatch::Event { index, replayed, .. } = mismatch else { return mismatch.to_string() };
    let mut text = format!("{mismatch}\n");
    for (label, trace, index) in [("recorded", expected, index), ("replayed", actual, replayed)] {
        text.push_str(&format!("{label}:\n"));
        let start = index.saturating_sub(around);
        let end = (index + around + 1).min(trace.events.len());
        for (i, event) in trace.events.iter().enumerate().take(end).skip(start) {
            let marker = if i == *index { '>' } else { ' ' };
            text.push_str(&format!("  {marker} {i:>6} {}\n", event_json(event)));
        }
        if *index >= trace.events.len() {
            text.push_str(&format!("  > {index:>6} (no event: the trace ends here)\n"));
        }
    }
    text
}

/// An event as the text encoding writes it.
pub fn event_json(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|error| format!("{event:?} ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use r3_hooks::Header;

    fn trace(events: Vec<Event>) -> Trace {
        Trace { header: Header::new(b"module", 0), events }
    }

    fn call(args: Vec<Value>) -> Event {
        Event::ExportCall { func: 1, name: "f".into(), args }
    }

    fn host(id: u64) -> Value {
        Value::ExternRef(Some(id))
    }

    fn end(naive_events: u64) -> Event {
        Event::End { naive_events }
    }

    #[test]
    fn equal_traces_compare_equal() {
        let events = vec![call(vec![Value::I32(1)]), Event::ExportReturn { results: vec![] }, end(3)];
        assert_eq!(compare(&trace(events.clone()), &trace(events)), Ok(()));
    }

    #[test]
    fn trap_messages_and_naive_counts_are_ignored() {
        let left = trace(vec![call(vec![]), Event::ExportTrap { message: "wasm trap: x".into() }, end(3)]);
        let right =
            trace(vec![call(vec![]), Event::ExportTrap { message: "RuntimeError: x".into() }, end(9)]);
        assert_eq!(compare(&left, &right), Ok(()));
    }

    #[test]
    fn nans_differing_only_in_the_quiet_bit_are_the_same() {
        let signalling = Value::F64(0x7ff4_0000_0000_0001);
        let quiet = Value::F64(0x7ffc_0000_0000_0001);
        let other_payload = Value::F64(0x7ffc_0000_0000_0002);
        let returned = |value| Event::ExportReturn { results: vec![value] };
        let recorded = trace(vec![call(vec![]), returned(quiet), end(0)]);
        assert_eq!(compare(&recorded, &trace(vec![call(vec![]), returned(signalling), end(0)])), Ok(()));
        assert!(compare(&recorded, &trace(vec![call(vec![]), returned(other_payload), end(0)])).is_err());
        let f32_nan = |bits| trace(vec![call(vec![Value::F32(bits)]), end(0)]);
        assert_eq!(compare(&f32_nan(0x7f80_0001), &f32_nan(0x7fc0_0001)), Ok(()));
        assert!(compare(&f32_nan(0x7f80_0001), &f32_nan(0x7f80_0002)).is_err());
    }

    #[test]
    fn a_recording_that_ended_inside_an_import_matches_a_replay_unwinding_there() {
        let exit = |events: Vec<Event>| trace([vec![call(vec![])], events, vec![end(0)]].concat());
        let recorded = exit(vec![Event::ImportCall { func: 6, args: vec![Value::I32(1)] }]);
        let unwound = exit(vec![Event::ImportThrow { func: 6 }, Event::ExportThrow]);
        assert_eq!(compare(&recorded, &unwound), Ok(()));
        let other_import = exit(vec![Event::ImportThrow { func: 5 }, Event::ExportThrow]);
        assert!(compare(&recorded, &other_import).is_err());
        let went_on = exit(vec![Event::ImportThrow { func: 6 }, Event::ExportThrow, call(vec![])]);
        assert!(compare(&recorded, &went_on).is_err());
    }

    #[test]
    fn an_export_return_left_out_before_an_export_call_matches_one_written() {
        let returned = |value| Event::ExportReturn { results: vec![Value::I32(value)] };
        let kept = trace(vec![call(vec![]), returned(1), call(vec![]), returned(2), end(0)]);
        let implied = trace(vec![call(vec![]), call(vec![]), returned(2), end(0)]);
        assert_eq!(compare(&implied, &kept), Ok(()));
        assert_eq!(compare(&kept, &implied), Ok(()));
        // Only an export_call implies a return; the one before `end` is compared.
        let last_left_out = trace(vec![call(vec![]), returned(1), call(vec![]), end(0)]);
        let mismatch = compare(&kept, &last_left_out).unwrap_err();
        assert!(matches!(mismatch, Mismatch::Event { index: 3, replayed: 3, .. }), "{mismatch:?}");
        // Indices after a left-out return count each trace's own events.
        let other_result = trace(vec![call(vec![]), call(vec![]), returned(3), end(0)]);
        let mismatch = compare(&other_result, &kept).unwrap_err();
        assert!(matches!(mismatch, Mismatch::Event { index: 2, replayed: 3, .. }), "{mismatch:?}");
    }

    #[test]
    fn the_instance_number_is_ignored_but_the_module_is_not() {
        let mut other = trace(vec![end(0)]);
        other.header.instance = 4;
        assert_eq!(compare(&trace(vec![end(0)]), &other), Ok(()));
        other.header.module_sha256 = "ff".into();
        assert!(matches!(compare(&trace(vec![end(0)]), &other), Err(Mismatch::Module { .. })));
    }

    #[test]
    fn host_values_compare_modulo_a_consistent_renaming() {
        let left = trace(vec![call(vec![host(1), host(2), host(1)]), end(0)]);
        let right = trace(vec![call(vec![host(7), host(3), host(7)]), end(0)]);
        assert_eq!(compare(&left, &right), Ok(()));
        // 1 -> 7 then 2 -> 7: two values of one trace cannot be one of the other.
        let merged = trace(vec![call(vec![host(7), host(7), host(7)]), end(0)]);
        assert!(matches!(compare(&left, &merged), Err(Mismatch::Event { index: 0, .. })));
        // 1 -> 7 then 1 -> 3.
        let split = trace(vec![call(vec![host(7), host(3), host(3)]), end(0)]);
        assert!(matches!(compare(&left, &split), Err(Mismatch::Event { index: 0, .. })));
        // The renaming holds across events.
        let left = trace(vec![Event::GlobalSet { global: 0, value: host(1) }, call(vec![host(1)]), end(0)]);
        let right = trace(vec![Event::GlobalSet { global: 0, value: host(5) }, call(vec![host(6)]), end(0)]);
        assert!(matches!(compare(&left, &right), Err(Mismatch::Event { index: 1, .. })));
    }

    #[test]
    fn the_first_difference_is_reported_with_both_events() {
        let left =
            trace(vec![call(vec![]), Event::ImportReturn { func: 0, results: vec![Value::I32(1)] }, end(0)]);
        let right =
            trace(vec![call(vec![]), Event::ImportReturn { func: 0, results: vec![Value::I32(2)] }, end(0)]);
        let mismatch = compare(&left, &right).unwrap_err();
        assert_eq!(
            mismatch,
            Mismatch::Event {
                index: 1,
                replayed: 1,
                expected: Some(Box::new(left.events[1].clone())),
                actual: Some(Box::new(right.events[1].clone()))
            }
        );
        let text = render(&mismatch, &left, &right, 1);
        assert_eq!(
            text,
            [
                "the traces differ at event 1",
                "recorded:",
                r#"         0 {"export_call":{"func":1,"name":"f","args":[]}}"#,
                r#"  >      1 {"import_return":{"func":0,"results":[{"i32":1}]}}"#,
                r#"         2 {"end":{"naive_events":0}}"#,
                "replayed:",
                r#"         0 {"export_call":{"func":1,"name":"f","args":[]}}"#,
                r#"  >      1 {"import_return":{"func":0,"results":[{"i32":2}]}}"#,
                r#"         2 {"end":{"naive_events":0}}"#,
                "",
            ]
            .join("\n")
        );
    }

    #[test]
    fn a_shorter_trace_differs_where_it_ends() {
        let left = trace(vec![call(vec![]), end(0)]);
        let right = trace(vec![call(vec![])]);
        let mismatch = compare(&left, &right).unwrap_err();
        assert_eq!(
            mismatch,
            Mismatch::Event { index: 1, replayed: 1, expected: Some(Box::new(end(0))), actual: None }
        );
        assert!(render(&mismatch, &left, &right, 2).contains("(no event: the trace ends here)"));
    }

    #[test]
    fn both_traces_must_end() {
        let events = vec![call(vec![])];
        assert_eq!(compare(&trace(events.clone()), &trace(events)), Err(Mismatch::Unended));
    }
}
