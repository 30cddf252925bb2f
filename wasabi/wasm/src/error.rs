use thiserror::Error;

/// Everything that can go wrong while decoding, validating or encoding a module.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Error {
    /// The bytes are not a well-formed or valid WebAssembly module.
    #[error("invalid module at offset {offset:#x}: {message}")]
    Invalid { offset: u64, message: String },
    /// The module is well-formed but uses a proposal beyond what the IR supports.
    #[error("unsupported feature {feature} at offset {offset:#x}")]
    Unsupported { feature: String, offset: u64 },
    /// The IR produced an invalid module: a bug in the IR or in an edit made to it.
    #[error("encoded module does not validate: {0}")]
    Encode(String),
}

impl Error {
    /// Byte offset in the input the error refers to.
    pub fn offset(&self) -> u64 {
        match self {
            Error::Invalid { offset, .. } | Error::Unsupported { offset, .. } => *offset,
            Error::Encode(_) => 0,
        }
    }
}
