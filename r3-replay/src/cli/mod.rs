//! One module per `r3` subcommand.

pub mod trace;
