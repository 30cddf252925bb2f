//! Every wasm binary shipped by the real-world corpus goes through the IR and comes out valid;
//! binaries whose producers use minimal LEB128 encodings come out byte-identical.

use rayon::prelude::*;
use tests::{corpus_dir, wasm_files};
use wasabi_wasm::{Module, supported_features, validate};

#[test]
fn every_corpus_binary_roundtrips() {
    let files = wasm_files(&corpus_dir().join("node_modules"));
    assert!(files.len() >= 25, "corpus looks incomplete: {} wasm files", files.len());
    let failures: Vec<String> = files
        .par_iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).unwrap();
            let result = Module::decode(&bytes).map(|module| module.encode());
            let outcome =
                result.and_then(|encoded| validate(&encoded, supported_features()).map(|_| encoded));
            outcome.err().map(|error| format!("{}: {error}", path.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn emscripten_and_rust_binaries_roundtrip_byte_identical() {
    let dir = corpus_dir().join("node_modules");
    for relative in
        ["@ffmpeg/core/dist/esm/ffmpeg-core.wasm", "opencv-wasm/opencv.wasm", "@swc/wasm/wasm_bg.wasm"]
    {
        let bytes = std::fs::read(dir.join(relative)).unwrap();
        let encoded = Module::decode(&bytes).unwrap().encode();
        assert!(encoded == bytes, "{relative} changed in the roundtrip");
    }
}
