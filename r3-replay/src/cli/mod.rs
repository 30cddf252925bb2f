//! One module per `r3` subcommand.

pub mod bench;
pub mod check;
pub mod instrument;
pub mod record;
pub mod replay;
pub mod run;
pub mod trace;
