//! Text encoding: JSON Lines. The first line is the header, each further line one event.

use super::{Event, Header, Trace, TraceError, check_version};
use std::io::Write;

pub fn write_header(header: &Header, out: &mut impl Write) -> Result<(), TraceError> {
    writeln!(out, "{}", serde_json::to_string(header).map_err(std::io::Error::other)?)?;
    Ok(())
}

pub fn write_event(event: &Event, out: &mut impl Write) -> Result<(), TraceError> {
    writeln!(out, "{}", serde_json::to_string(event).map_err(std::io::Error::other)?)?;
    Ok(())
}

pub fn read(bytes: &[u8]) -> Result<Trace, TraceError> {
    let text = std::str::from_utf8(bytes).map_err(|error| TraceError::NotATrace(error.to_string()))?;
    let mut lines = text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty());
    let (_, first) = lines.next().ok_or_else(|| TraceError::Header("empty trace".into()))?;
    let header: Header =
        serde_json::from_str(first).map_err(|error| TraceError::Header(error.to_string()))?;
    check_version(&header)?;
    let mut events = Vec::new();
    for (line, json) in lines {
        let event: Event = serde_json::from_str(json).map_err(|error| TraceError::Event {
            index: events.len(),
            at: format!("line {}", line + 1),
            message: error.to_string(),
        })?;
        events.push(event);
    }
    Ok(Trace { header, events })
}
