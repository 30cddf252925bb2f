use crate::Error;
use wasmparser::{Validator, WasmFeatures};

/// What the IR decodes and encodes: WebAssembly 2.0 plus the threads proposal's atomics.
pub fn supported_features() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::THREADS
}

/// Validates `bytes` with `features`; a module that is valid only with more features enabled is
/// reported as [`Error::Unsupported`].
pub fn validate(bytes: &[u8], features: WasmFeatures) -> Result<(), Error> {
    match Validator::new_with_features(features).validate_all(bytes) {
        Ok(_) => Ok(()),
        Err(error) => Err(classify(bytes, features, &error)),
    }
}

/// Turns a wasmparser error into ours, telling apart input that is broken from input that
/// needs a proposal outside `features`.
pub(crate) fn classify(bytes: &[u8], features: WasmFeatures, error: &wasmparser::BinaryReaderError) -> Error {
    let offset = error.offset();
    let message = error.message().to_string();
    let accepted_with_all = Validator::new_with_features(WasmFeatures::all()).validate_all(bytes).is_ok();
    if accepted_with_all && features != WasmFeatures::all() {
        return Error::Unsupported { feature: feature_name(&message), offset };
    }
    Error::Invalid { offset, message }
}

/// wasmparser words these errors as "<feature> support is not enabled".
fn feature_name(message: &str) -> String {
    message.split(" support is not enabled").next().unwrap_or(message).to_string()
}
