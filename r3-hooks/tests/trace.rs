//! The trace format: both encodings carry every value bit-exactly and convert losslessly;
//! broken traces are errors that name the event.

use r3_hooks::trace::{Encoding, Run, TraceError, ValueType};
use r3_hooks::{Event, Header, Trace, Value};

fn sample() -> Trace {
    let mut trace = Trace::new(Header::new(b"\0asm\x01\0\0\0", 2));
    let values = vec![
        Value::I32(i32::MIN),
        Value::I64(i64::MIN),
        Value::I64(i64::MAX),
        Value::F32(0x7fa0_0001), // a signalling NaN with payload
        Value::F64(0xfff8_0000_0000_0abc),
        Value::F64((-0.0f64).to_bits()),
        Value::V128(*b"0123456789abcdef"),
        Value::FuncRef(None),
        Value::FuncRef(Some(7)),
        Value::ExternRef(Some(u64::MAX)),
        Value::ExternRef(None),
        Value::Foreign(u64::MAX),
    ];
    trace.events = vec![
        Event::ExportCall { func: 3, name: "main \"quoted\" ✓".into(), args: values.clone() },
        Event::ImportCall { func: 0, args: vec![Value::I32(1)] },
        Event::MemoryWrite { memory: 0, addr: 0xffff_fff0, bytes: vec![0, 1, 0xfe, 0xff] },
        Event::MemoryGrow { memory: 0, pages: 65536 },
        Event::TableSet { table: 1, index: 4, value: Value::FuncRef(Some(2)) },
        Event::TableGrow { table: 0, size: 10, init: Value::ExternRef(None) },
        Event::GlobalSet { global: 5, value: Value::F32(0xffc0_0000) },
        Event::ImportReturn { func: 0, results: values },
        Event::ImportThrow { func: 1 },
        Event::Foreign {
            id: 0,
            params: vec![ValueType::I64, ValueType::V128],
            results: vec![ValueType::FuncRef],
        },
        Event::TableSet { table: 0, index: 1, value: Value::Foreign(0) },
        Event::ForeignCall { id: 0, args: vec![Value::I64(-1), Value::V128([0xff; 16])] },
        Event::ForeignReturn { id: 0, results: vec![Value::Foreign(0)] },
        Event::ForeignThrow { id: 0 },
        Event::ExportThrow,
        Event::ExportCall { func: 3, name: "main".into(), args: vec![] },
        Event::ExportTrap { message: "unreachable".into() },
        Event::ExportReturn { results: vec![] },
        Event::MemoryWrites {
            memory: 0,
            runs: vec![Run { addr: 0, bytes: vec![1] }, Run { addr: u64::MAX - 2, bytes: vec![0xff, 0] }],
        },
        Event::End { naive_events: 1_000_000 },
    ];
    trace
}

#[test]
fn text_and_binary_roundtrip_losslessly() {
    let trace = sample();
    for encoding in [Encoding::Text, Encoding::Binary] {
        let bytes = trace.to_bytes(encoding);
        assert_eq!(Trace::detect(&bytes), Some(encoding));
        assert_eq!(Trace::read(&bytes).unwrap(), trace, "{encoding:?}");
    }
    // text → binary → text is byte-identical
    let text = trace.to_bytes(Encoding::Text);
    let binary = Trace::read(&text).unwrap().to_bytes(Encoding::Binary);
    assert_eq!(Trace::read(&binary).unwrap().to_bytes(Encoding::Text), text);
}

#[test]
fn binary_is_compact() {
    let trace = sample();
    let (text, binary) = (trace.to_bytes(Encoding::Text), trace.to_bytes(Encoding::Binary));
    assert!(binary.len() * 3 < text.len(), "binary {} vs text {}", binary.len(), text.len());
}

#[test]
fn runs_of_memory_writes_take_their_distance_not_their_address() {
    // UTF-16 text rewritten by the host: every other byte (the zero high byte) unchanged.
    let runs: Vec<Run> = (0..1000).map(|k| Run { addr: 0x4000_0000 + 2 * k, bytes: vec![b'a'] }).collect();
    let event = Event::MemoryWrites { memory: 0, runs };
    let mut trace = Trace::new(Header::new(b"", 0));
    trace.events.push(event.clone());
    let header = Trace::new(Header::new(b"", 0)).to_bytes(Encoding::Binary).len();
    let binary = trace.to_bytes(Encoding::Binary);
    // Per run: a one-byte skip, a one-byte length and the byte; the first skip takes five.
    assert_eq!(binary.len() - header, 1 + 1 + 2 + 4 + 3 * 1000);
    assert_eq!(Trace::read(&binary).unwrap().events, [event]);
}

#[test]
fn header_names_the_module_by_sha256() {
    let header = Header::new(b"", 0);
    assert_eq!(header.module_sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

#[test]
fn broken_traces_name_the_event() {
    let text = String::from_utf8(sample().to_bytes(Encoding::Text)).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = r#"{"memory_write":{"memory":0,"addr":1,"bytes":"abc"}}"#;
    match Trace::read(lines.join("\n").as_bytes()) {
        Err(TraceError::Event { index: 2, at, message }) => {
            assert_eq!(at, "line 4");
            assert!(message.contains("hex"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let binary = sample().to_bytes(Encoding::Binary);
    let truncated = &binary[..binary.len() - 3];
    assert!(matches!(Trace::read(truncated), Err(TraceError::Event { index: 19, .. })));
    // Versions 2 and 3 only added events (and left-out returns): older traces are still read.
    for older in [1, 2] {
        let older = text.replacen("\"version\":3", &format!("\"version\":{older}"), 1);
        assert_eq!(Trace::read(older.as_bytes()).unwrap().events, sample().events);
    }
    let newer = text.replacen("\"version\":3", "\"version\":4", 1);
    assert!(matches!(Trace::read(newer.as_bytes()), Err(TraceError::Version { found: 4 })));
    assert!(matches!(Trace::read(b"garbage"), Err(TraceError::NotATrace(_))));
    // The runs of a memory_writes event count on from the previous run's end, within 2^64.
    lines[3] = r#"{"memory_writes":{"memory":0,"runs":[{"skip":18446744073709551615,"bytes":"01"}]}}"#;
    match Trace::read(lines.join("\n").as_bytes()) {
        Err(TraceError::Event { index: 2, message, .. }) => assert!(message.contains("64-bit"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn stats_count_kinds_and_reduction() {
    let stats = sample().stats();
    assert_eq!(stats.events, 20);
    assert_eq!(stats.by_kind["export_call"], 2);
    assert_eq!(stats.by_kind["memory_writes"], 1);
    // Both kinds of memory events count their bytes.
    assert_eq!(stats.memory_bytes, 4 + 3);
    assert_eq!(stats.naive_events, Some(1_000_000));
    let reduction = stats.reduction_percent().unwrap();
    assert!((reduction - 99.998).abs() < 1e-3, "{reduction}");
}

#[test]
fn a_streamed_trace_equals_the_whole_one() {
    let trace = sample();
    for encoding in [Encoding::Text, Encoding::Binary] {
        let mut writer = r3_hooks::TraceWriter::new(Vec::new(), &trace.header, encoding).unwrap();
        for event in &trace.events {
            writer.event(event).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), trace.to_bytes(encoding), "{encoding:?}");
    }
}
