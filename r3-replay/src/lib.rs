//! `r3_replay`: turning traces into replay modules, running and checking replays, and the
//! `r3` command line.

pub mod check;
pub mod link;
pub mod section;
