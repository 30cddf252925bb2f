//! `r3_replay`: turning traces into replay modules, running and checking replays, and the
//! `r3` command line. Pipeline: [`reduce`] (trace → replay IR) → [`replay`] (IR → host
//! module) → [`merge`] (host + original → one module) → [`link`] (running the two-module
//! form) → [`check`].

pub mod check;
pub mod link;
pub mod merge;
pub mod reduce;
pub mod replay;
pub mod section;
