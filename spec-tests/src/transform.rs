//! What a mode does to each module before wasmtime runs it. New modes (instrument, r3) add a
//! variant here and nothing else changes in the driver.

use wasmparser::WasmFeatures;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// decode → IR → encode → validate with wasabi_wasm.
    Roundtrip,
}

impl Mode {
    /// The bytes to run instead of `bytes`, or why the module was refused.
    pub fn transform(self, bytes: &[u8], features: WasmFeatures) -> Result<Vec<u8>, String> {
        match self {
            Mode::Roundtrip => wasabi_wasm::roundtrip(bytes, features).map_err(|error| error.to_string()),
        }
    }
}
