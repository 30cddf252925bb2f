//! The IR: an owned module whose parts mirror the sections of the binary format.
//!
//! Indices are plain `u32`s in the wasm index spaces (imports first, then definitions).
//! Instructions are `wasm_encoder::Instruction<'static>`, so encoding is direct and every
//! Wasm 2.0 (+ atomics) instruction is covered; the editing API in `edit.rs` keeps indices
//! consistent when index spaces change.

use std::collections::BTreeMap;
pub use wasm_encoder::{
    BlockType, GlobalType, HeapType, Ieee32, Ieee64, MemArg, MemArgTarget, MemoryType, RefType, TableType,
    ValType,
};

/// One instruction. Function bodies end with `Instruction::End`, like in the binary format.
pub type Instr = wasm_encoder::Instruction<'static>;

#[derive(Debug, Clone, Default)]
pub struct Module {
    pub types: Vec<FuncType>,
    /// In binary order; each kind's imports come first in that kind's index space.
    pub imports: Vec<Import>,
    /// Defined functions; function index = number of imported functions + position.
    pub functions: Vec<Function>,
    pub tables: Vec<TableType>,
    pub memories: Vec<MemoryType>,
    pub globals: Vec<Global>,
    pub exports: Vec<Export>,
    pub start: Option<u32>,
    pub elements: Vec<Element>,
    pub data: Vec<Data>,
    /// Whether the input had a data count section; encoding also adds one when a body needs it.
    pub data_count: bool,
    pub names: Names,
    /// Custom sections in input order, each re-emitted after the standard section it followed.
    pub custom_sections: Vec<CustomSection>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl FuncType {
    pub fn new(params: impl Into<Vec<ValType>>, results: impl Into<Vec<ValType>>) -> Self {
        FuncType { params: params.into(), results: results.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: ImportKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImportKind {
    /// The type index of the imported function.
    Function(u32),
    Table(TableType),
    Memory(MemoryType),
    Global(GlobalType),
}

#[derive(Debug, Clone, Default)]
pub struct Function {
    pub type_index: u32,
    /// Run-length encoded declared locals (not parameters), as in the binary format.
    pub locals: Vec<(u32, ValType)>,
    pub body: Vec<Instr>,
    /// A body already in binary form (locals and code, as in a code section entry), written
    /// out as is instead of `locals` and `body`. Tools that stream bodies (the instrumenter)
    /// use this; edits such as [`Module::remap_functions`] do not look inside it.
    pub encoded: Option<Vec<u8>>,
}

/// A constant expression without its terminating `end`.
#[derive(Debug, Clone, Default)]
pub struct ConstExpr(pub Vec<Instr>);

#[derive(Debug, Clone)]
pub struct Global {
    pub ty: GlobalType,
    pub init: ConstExpr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportKind {
    Function,
    Table,
    Memory,
    Global,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Export {
    pub name: String,
    pub kind: ExportKind,
    pub index: u32,
}

#[derive(Debug, Clone)]
pub struct Element {
    pub mode: ElementMode,
    pub items: ElementItems,
}

#[derive(Debug, Clone)]
pub enum ElementMode {
    Active { table: u32, offset: ConstExpr },
    Passive,
    Declarative,
}

#[derive(Debug, Clone)]
pub enum ElementItems {
    Functions(Vec<u32>),
    Expressions(RefType, Vec<ConstExpr>),
}

#[derive(Debug, Clone)]
pub struct Data {
    pub mode: DataMode,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Clone)]
pub enum DataMode {
    Active { memory: u32, offset: ConstExpr },
    Passive,
}

/// Names from the `name` custom section, keyed by index so they survive edits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Names {
    pub module: Option<String>,
    pub functions: NameMap,
    pub locals: IndirectNameMap,
    pub labels: IndirectNameMap,
    pub types: NameMap,
    pub tables: NameMap,
    pub memories: NameMap,
    pub globals: NameMap,
    pub elements: NameMap,
    pub data: NameMap,
    pub fields: IndirectNameMap,
    pub tags: NameMap,
    /// Subsections this IR does not model, kept as `(id, payload)`.
    pub unknown: Vec<(u8, Vec<u8>)>,
}

pub type NameMap = BTreeMap<u32, String>;
pub type IndirectNameMap = BTreeMap<u32, NameMap>;

impl Names {
    pub fn is_empty(&self) -> bool {
        *self == Names::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CustomSection {
    pub placement: Placement,
    pub content: CustomContent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CustomContent {
    /// Where [`Module::names`] is encoded. Without such a marker, non-empty names go last.
    Names,
    Raw {
        name: String,
        data: Vec<u8>,
    },
}

/// The standard section a custom section follows; custom sections keep their relative order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Placement {
    BeforeAll,
    AfterType,
    AfterImport,
    AfterFunction,
    AfterTable,
    AfterMemory,
    AfterGlobal,
    AfterExport,
    AfterStart,
    AfterElement,
    AfterDataCount,
    AfterCode,
    AfterData,
}

impl Module {
    pub fn imported_functions(&self) -> impl Iterator<Item = (&Import, u32)> {
        self.imports.iter().filter_map(|import| match import.kind {
            ImportKind::Function(ty) => Some((import, ty)),
            _ => None,
        })
    }

    pub fn num_imported_functions(&self) -> u32 {
        self.count_imports(|kind| matches!(kind, ImportKind::Function(_)))
    }

    pub fn num_imported_tables(&self) -> u32 {
        self.count_imports(|kind| matches!(kind, ImportKind::Table(_)))
    }

    pub fn num_imported_memories(&self) -> u32 {
        self.count_imports(|kind| matches!(kind, ImportKind::Memory(_)))
    }

    pub fn num_imported_globals(&self) -> u32 {
        self.count_imports(|kind| matches!(kind, ImportKind::Global(_)))
    }

    fn count_imports(&self, is_kind: impl Fn(&ImportKind) -> bool) -> u32 {
        self.imports.iter().filter(|import| is_kind(&import.kind)).count() as u32
    }

    /// The type index of any function, imported or defined.
    pub fn function_type_index(&self, function_index: u32) -> Option<u32> {
        let imported = self.num_imported_functions();
        if function_index < imported {
            self.imported_functions().nth(function_index as usize).map(|(_, ty)| ty)
        } else {
            let defined = self.functions.get((function_index - imported) as usize)?;
            Some(defined.type_index)
        }
    }

    pub fn function_type(&self, function_index: u32) -> Option<&FuncType> {
        self.types.get(self.function_type_index(function_index)? as usize)
    }
}
