use std::fmt;

/// Why a host module and an original module could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// One of the inputs is not a valid module within the features the IR supports.
    #[error("{role} module: {source}")]
    Decode {
        role: Role,
        #[source]
        source: wasabi_wasm::Error,
    },
    /// An import of the host module that cannot be resolved to anything of the original's.
    #[error("host module imports {module:?} {name:?}: {reason}")]
    HostImport { module: String, name: String, reason: String },
    /// The host module does not follow the interface in docs/replay.md (exports, start).
    #[error("host module: {0}")]
    Host(String),
    /// The host module's `r3-replay` custom section is missing, malformed or inconsistent.
    #[error("host module's r3-replay custom section: {0}")]
    CustomSection(String),
    /// The merged module does not validate: inputs the checks above let through, or a bug.
    #[error("merged module does not validate: {0}")]
    Invalid(#[source] wasabi_wasm::Error),
}

/// Which input an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Host,
    Original,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Host => "host",
            Role::Original => "original",
        })
    }
}

impl MergeError {
    pub(super) fn host_import(import: &wasabi_wasm::Import, reason: impl Into<String>) -> Self {
        MergeError::HostImport {
            module: import.module.clone(),
            name: import.name.clone(),
            reason: reason.into(),
        }
    }
}
