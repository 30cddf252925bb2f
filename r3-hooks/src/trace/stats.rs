//! `r3 trace stats`: events by kind, and how much reduction saved against naive tracing.

use super::Trace;
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub events: u64,
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Bytes of memory carried by `memory_write` and `memory_writes` events.
    pub memory_bytes: u64,
    /// From the trace's `end` event, if the recording finished.
    pub naive_events: Option<u64>,
}

impl Stats {
    pub fn of(trace: &Trace) -> Stats {
        let mut stats = Stats { events: 0, by_kind: BTreeMap::new(), memory_bytes: 0, naive_events: None };
        for event in &trace.events {
            stats.events += 1;
            *stats.by_kind.entry(event.kind()).or_default() += 1;
            let written: usize = event.memory_runs().map(|(_, _, bytes)| bytes.len()).sum();
            stats.memory_bytes += written as u64;
            if let super::Event::End { naive_events } = event {
                stats.naive_events = Some(*naive_events);
            }
        }
        stats
    }

    /// Share of naive events the recording did not need, in percent.
    pub fn reduction_percent(&self) -> Option<f64> {
        let naive = self.naive_events.filter(|&naive| naive > 0)?;
        Some(100.0 * (1.0 - self.events as f64 / naive as f64))
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<16} {:>12}", "kind", "events")?;
        for (kind, count) in &self.by_kind {
            writeln!(f, "{kind:<16} {count:>12}")?;
        }
        writeln!(f, "{:<16} {:>12}", "total", self.events)?;
        writeln!(f, "memory bytes     {:>12}", self.memory_bytes)?;
        match (self.naive_events, self.reduction_percent()) {
            (Some(naive), Some(percent)) => {
                writeln!(f, "naive events     {naive:>12}")?;
                write!(f, "reduction        {percent:>11.2}%")
            }
            _ => write!(f, "naive events     {:>12}", "unknown (no end event)"),
        }
    }
}
