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
    /// The function's blocks (an if's else part separately), for reporting the blocks a branch
    /// leaves: walk `parent` from the innermost one. Entry 0 is the function itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockNode>,
}

/// Where each entry of one `br_table` goes, for the runtime to report targets and the blocks
/// the branch leaves.
#[derive(Serialize, Clone)]
pub struct BrTableInfo {
    pub table: Vec<ResolvedLabel>,
    pub default: ResolvedLabel,
    /// The innermost block at the `br_table`, in the function's block table.
    pub node: u32,
}

#[derive(Serialize, Clone)]
pub struct ResolvedLabel {
    pub label: u32,
    pub location: Location,
    /// How many blocks, from the innermost outwards, this target leaves.
    pub ends: u32,
}

#[derive(Serialize, Clone, Copy)]
pub struct Location {
    pub func: u32,
    pub instr: i64,
}

/// A block of a function.
#[derive(Clone, Copy)]
pub enum EndedBlock {
    Function { end: u32 },
    Block { begin: u32, end: u32 },
    Loop { begin: u32, end: u32 },
    If { begin: u32, end: u32 },
    Else { else_begin: u32, end: u32, if_begin: u32 },
}

/// An entry of a function's block table, serialized compactly as `[kind, begin, end, parent]`,
/// or `[kind, else, end, parent, if]` for an else part; the function's begin and parent are -1.
#[derive(Clone, Copy)]
pub struct BlockNode {
    pub block: EndedBlock,
    pub parent: i64,
}

impl Serialize for BlockNode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (kind, begin, end, if_begin) = match self.block {
            EndedBlock::Function { end } => ("function", -1, end, None),
            EndedBlock::Block { begin, end } => ("block", begin as i64, end, None),
            EndedBlock::Loop { begin, end } => ("loop", begin as i64, end, None),
            EndedBlock::If { begin, end } => ("if", begin as i64, end, None),
            EndedBlock::Else { else_begin, end, if_begin } => {
                ("else", else_begin as i64, end, Some(if_begin))
            }
        };
        let mut tuple = serializer.serialize_tuple(if if_begin.is_some() { 5 } else { 4 })?;
        tuple.serialize_element(kind)?;
        tuple.serialize_element(&begin)?;
        tuple.serialize_element(&end)?;
        tuple.serialize_element(&self.parent)?;
        if let Some(if_begin) = if_begin {
            tuple.serialize_element(&if_begin)?;
        }
        tuple.end()
    }
}
