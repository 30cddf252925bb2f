use crate::Error;
use rayon::prelude::*;
use wasmparser::{BinaryReaderError, Parser, ValidPayload, Validator, WasmFeatures};

/// What the IR decodes and encodes: WebAssembly 2.0 plus the threads proposal's atomics.
pub fn supported_features() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::THREADS
}

/// Validates `bytes` with `features`; a module that is valid only with more features enabled is
/// reported as [`Error::Unsupported`].
pub fn validate(bytes: &[u8], features: WasmFeatures) -> Result<(), Error> {
    validate_in_parallel(bytes, features).map_err(|error| classify(bytes, features, &error))
}

/// Sections in order, then the function bodies in parallel (the bulk of big modules); the
/// first failing body in module order is reported.
fn validate_in_parallel(bytes: &[u8], features: WasmFeatures) -> Result<(), BinaryReaderError> {
    let mut validator = Validator::new_with_features(features);
    let mut parser = Parser::new(0);
    parser.set_features(features);
    let mut bodies = Vec::new();
    for payload in parser.parse_all(bytes) {
        if let ValidPayload::Func(func, body) = validator.payload(&payload?)? {
            bodies.push((func, body));
        }
    }
    let results: Vec<Result<(), BinaryReaderError>> = bodies
        .into_par_iter()
        .map(|(func, body)| func.into_validator(Default::default()).validate(&body))
        .collect();
    results.into_iter().collect()
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
