//! Recorders: they run a program with every WebAssembly module instrumented for recording
//! (`wasabi::record`) and collect one trace per module instance.

pub mod node;
