//! `r3_replay`: turning traces into replay modules (to come) and the `r3` command line.

pub mod merge;
