//! `wasabi_wasm`: an owned, editable IR for WebAssembly 2.0 modules (plus the threads
//! proposal's atomic instructions, which real toolchains emit even for single-threaded code).
//!
//! Pipeline: [`Module::decode`] (wasmparser, validating) → edit → [`Module::encode`]
//! (wasm-encoder) → [`validate`].

mod decode;
mod edit;
mod encode;
mod error;
mod features;
mod instr;
mod module;
mod names;

pub use decode::{DecodeOptions, DeferredBody, body_error};
pub use error::Error;
pub use features::{supported_features, validate};
pub use module::*;

/// Decodes `bytes` into the IR and encodes it again; both input and output are validated
/// against `features`.
pub fn roundtrip(bytes: &[u8], features: wasmparser::WasmFeatures) -> Result<Vec<u8>, Error> {
    let module = Module::decode_with(bytes, &DecodeOptions { features, validate: true })?;
    let encoded = module.encode();
    validate(&encoded, features).map_err(|error| Error::Encode(error.to_string()))?;
    Ok(encoded)
}
