//! Binary encoding: a magic, then the header and each event in postcard (varint integers).

use super::{Event, Header, Trace, TraceError, check_version};
use std::io::Write;

pub const MAGIC: &[u8] = b"R3TRACE\0";

pub fn write_header(header: &Header, out: &mut impl Write) -> Result<(), TraceError> {
    out.write_all(MAGIC)?;
    out.write_all(&encode(header)?)?;
    Ok(())
}

pub fn write_event(event: &Event, out: &mut impl Write) -> Result<(), TraceError> {
    out.write_all(&encode(event)?)?;
    Ok(())
}

pub fn read(bytes: &[u8]) -> Result<Trace, TraceError> {
    let mut rest = &bytes[MAGIC.len()..];
    let (header, after): (Header, _) =
        postcard::take_from_bytes(rest).map_err(|error| TraceError::Header(error.to_string()))?;
    check_version(&header)?;
    rest = after;
    let mut events = Vec::new();
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let (event, after): (Event, _) =
            postcard::take_from_bytes(rest).map_err(|error| TraceError::Event {
                index: events.len(),
                at: format!("byte offset {offset:#x}"),
                message: error.to_string(),
            })?;
        events.push(event);
        rest = after;
    }
    Ok(Trace { header, events })
}

fn encode(value: &impl serde::Serialize) -> Result<Vec<u8>, TraceError> {
    postcard::to_stdvec(value).map_err(|error| TraceError::Io(std::io::Error::other(error)))
}
