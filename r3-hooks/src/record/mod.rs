//! Recorders: they run a program with every WebAssembly module instrumented for recording
//! (`wasabi::record`) and collect one trace per module instance: in node ([`node`]), in a web
//! page in headless Chromium ([`browser`]) or on wasmtime ([`native`]).

pub mod browser;
pub mod native;
pub mod node;
