//! Static module information handed to analyses as `Wasabi.module.info` (upstream's layout,
//! extended with tables and memories).

use serde::Serialize;
use serde::ser::{SerializeTuple, Serializer};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModuleInfo {
    pub functions: Vec<FunctionInfo>,
    /// One type code per global (see `Ty::code`).
    pub globals: String,
    pub start: Option<u32>,
    pub tables: Vec<&'static str>,
    pub memories: u32,
    pub original_function_imports_count: u32,
    pub br_tables: Vec<BrTableInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionInfo {
    /// Parameter codes, `|`, result codes: `"iI|f"`.
    #[serde(rename = "type")]
    pub type_: String,
    pub import: Option<(String, String)>,
    pub export: Vec<String>,
    /// Type codes of the declared locals (parameters excluded).
    pub locals: String,
    pub instr_count: u32,
}

/// Where each entry of one `br_table` goes, for the runtime to report targets and the blocks
/// the branch leaves.
#[derive(Serialize, Clone)]
pub struct BrTableInfo {
    pub table: Vec<ResolvedLabel>,
    pub default: ResolvedLabel,
}

#[derive(Serialize, Clone)]
pub struct ResolvedLabel {
    pub label: u32,
    pub location: Location,
    pub ends: Vec<EndedBlock>,
}

#[derive(Serialize, Clone, Copy)]
pub struct Location {
    pub func: u32,
    pub instr: i64,
}

/// A block left by a branch, serialized compactly as `[kind, begin, end]` or, for an else
/// branch, `[kind, else, end, if]`; the function's begin is -1.
#[derive(Clone, Copy)]
pub enum EndedBlock {
    Function { end: u32 },
    Block { begin: u32, end: u32 },
    Loop { begin: u32, end: u32 },
    If { begin: u32, end: u32 },
    Else { else_begin: u32, end: u32, if_begin: u32 },
}

impl Serialize for EndedBlock {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (kind, begin, end, if_begin) = match *self {
            EndedBlock::Function { end } => ("function", -1, end, None),
            EndedBlock::Block { begin, end } => ("block", begin as i64, end, None),
            EndedBlock::Loop { begin, end } => ("loop", begin as i64, end, None),
            EndedBlock::If { begin, end } => ("if", begin as i64, end, None),
            EndedBlock::Else { else_begin, end, if_begin } => {
                ("else", else_begin as i64, end, Some(if_begin))
            }
        };
        let mut tuple = serializer.serialize_tuple(if if_begin.is_some() { 4 } else { 3 })?;
        tuple.serialize_element(kind)?;
        tuple.serialize_element(&begin)?;
        tuple.serialize_element(&end)?;
        if let Some(if_begin) = if_begin {
            tuple.serialize_element(&if_begin)?;
        }
        tuple.end()
    }
}
