//! One module per `r3` subcommand.

pub mod instrument;
pub mod record;
pub mod replay;
pub mod trace;
