//! `r3_replay`: turning traces into replay modules, and the `r3` command line.
//! Pipeline: [`reduce`] (trace → replay IR) → [`replay`] (IR → host module).

pub mod reduce;
pub mod replay;
