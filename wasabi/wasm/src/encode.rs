//! IR → binary with wasm-encoder. Function bodies are encoded in parallel; the output depends
//! only on the IR, never on the thread count.

use crate::module::*;
use crate::names::encode_names;
use rayon::prelude::*;
use std::borrow::Cow;
use wasm_encoder::Encode;
use wasm_encoder::{
    DataCountSection, DataSection, ElementSection, ExportSection, FunctionSection, GlobalSection,
    ImportSection, MemorySection, StartSection, TableSection, TypeSection,
};

impl Module {
    pub fn encode(&self) -> Vec<u8> {
        let parts = self.encode_parts();
        let mut bytes = Vec::with_capacity(parts.len());
        parts.write_to(&mut bytes).expect("writing to memory cannot fail");
        bytes
    }

    /// Writes the encoded module without holding all of it in memory at once: the code section
    /// goes out body by body (instrumented modules reach hundreds of MB).
    pub fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        self.encode_parts().write_to(out)
    }

    fn encode_parts(&self) -> EncodedParts<'_> {
        let (code, needs_data_count) = self.encode_code();
        let mut out = Emitter { module: self, bytes: wasm_encoder::Module::new(), head: None };
        out.custom_sections(Placement::BeforeAll);
        out.section(Placement::AfterType, &self.type_section());
        out.section(Placement::AfterImport, &self.import_section());
        out.section(Placement::AfterFunction, &self.function_section());
        out.section(Placement::AfterTable, &self.table_section());
        out.section(Placement::AfterMemory, &self.memory_section());
        out.section(Placement::AfterGlobal, &self.global_section());
        out.section(Placement::AfterExport, &self.export_section());
        if let Some(function_index) = self.start {
            out.bytes.section(&StartSection { function_index });
        }
        out.custom_sections(Placement::AfterStart);
        out.section(Placement::AfterElement, &self.element_section());
        if self.data_count || needs_data_count {
            out.bytes.section(&DataCountSection { count: self.data.len() as u32 });
        }
        out.custom_sections(Placement::AfterDataCount);
        let bodies = out.code_section(code);
        out.custom_sections(Placement::AfterCode);
        out.section(Placement::AfterData, &self.data_section());
        if !self.names.is_empty() && !self.has_names_marker() {
            out.bytes.section(&encode_names(&self.names));
        }
        let tail = out.bytes.finish()[wasm_encoder::Module::HEADER.len()..].to_vec();
        EncodedParts { head: out.head.unwrap_or_default(), bodies, tail }
    }

    fn has_names_marker(&self) -> bool {
        self.custom_sections.iter().any(|section| section.content == CustomContent::Names)
    }

    fn type_section(&self) -> TypeSection {
        let mut section = TypeSection::new();
        for ty in &self.types {
            section.ty().function(ty.params.iter().copied(), ty.results.iter().copied());
        }
        section
    }

    fn import_section(&self) -> ImportSection {
        let mut section = ImportSection::new();
        for import in &self.imports {
            let ty = match import.kind {
                ImportKind::Function(index) => wasm_encoder::EntityType::Function(index),
                ImportKind::Table(ty) => ty.into(),
                ImportKind::Memory(ty) => ty.into(),
                ImportKind::Global(ty) => ty.into(),
            };
            section.import(&import.module, &import.name, ty);
        }
        section
    }

    fn function_section(&self) -> FunctionSection {
        let mut section = FunctionSection::new();
        for function in &self.functions {
            section.function(function.type_index);
        }
        section
    }

    fn table_section(&self) -> TableSection {
        let mut section = TableSection::new();
        for table in &self.tables {
            section.table(*table);
        }
        section
    }

    fn memory_section(&self) -> MemorySection {
        let mut section = MemorySection::new();
        for memory in &self.memories {
            section.memory(*memory);
        }
        section
    }

    fn global_section(&self) -> GlobalSection {
        let mut section = GlobalSection::new();
        for global in &self.globals {
            section.global(global.ty, &global.init.to_encoder());
        }
        section
    }

    fn export_section(&self) -> ExportSection {
        let mut section = ExportSection::new();
        for export in &self.exports {
            let kind = match export.kind {
                ExportKind::Function => wasm_encoder::ExportKind::Func,
                ExportKind::Table => wasm_encoder::ExportKind::Table,
                ExportKind::Memory => wasm_encoder::ExportKind::Memory,
                ExportKind::Global => wasm_encoder::ExportKind::Global,
            };
            section.export(&export.name, kind, export.index);
        }
        section
    }

    fn element_section(&self) -> ElementSection {
        let mut section = ElementSection::new();
        for element in &self.elements {
            let exprs: Vec<wasm_encoder::ConstExpr>;
            let elements = match &element.items {
                ElementItems::Functions(functions) => {
                    wasm_encoder::Elements::Functions(Cow::Borrowed(functions))
                }
                ElementItems::Expressions(ty, items) => {
                    exprs = items.iter().map(ConstExpr::to_encoder).collect();
                    wasm_encoder::Elements::Expressions(*ty, Cow::Borrowed(&exprs))
                }
            };
            let offset;
            let mode = match &element.mode {
                ElementMode::Passive => wasm_encoder::ElementMode::Passive,
                ElementMode::Declarative => wasm_encoder::ElementMode::Declared,
                ElementMode::Active { table, offset: expr } => {
                    offset = expr.to_encoder();
                    // Table 0 with funcrefs takes the MVP encoding, which every engine reads.
                    let mvp_form = *table == 0
                        && matches!(
                            &element.items,
                            ElementItems::Functions(_) | ElementItems::Expressions(RefType::FUNCREF, _)
                        );
                    wasm_encoder::ElementMode::Active {
                        table: (!mvp_form).then_some(*table),
                        offset: &offset,
                    }
                }
            };
            section.segment(wasm_encoder::ElementSegment { mode, elements });
        }
        section
    }

    fn data_section(&self) -> DataSection {
        let mut section = DataSection::new();
        for data in &self.data {
            match &data.mode {
                DataMode::Passive => section.passive(data.bytes.iter().copied()),
                DataMode::Active { memory, offset } => {
                    section.active(*memory, &offset.to_encoder(), data.bytes.iter().copied())
                }
            };
        }
        section
    }

    /// The code section, and whether any body refers to data segments (which requires a
    /// data count section).
    fn encode_code(&self) -> (Vec<Cow<'_, [u8]>>, bool) {
        let bodies: Vec<(Cow<[u8]>, bool)> = self.functions.par_iter().map(encode_body).collect();
        let needs_data_count = bodies.iter().any(|(_, uses_data)| *uses_data);
        (bodies.into_iter().map(|(body, _)| body).collect(), needs_data_count)
    }
}

/// The encoded module in three parts: everything up to the code section's header, the function
/// bodies (borrowed where they were already encoded), and everything after. `CodeSection`
/// would copy every body into one buffer, doubling the peak memory for big modules.
struct EncodedParts<'a> {
    head: Vec<u8>,
    bodies: Vec<Cow<'a, [u8]>>,
    tail: Vec<u8>,
}

impl EncodedParts<'_> {
    fn len(&self) -> usize {
        self.head.len() + self.bodies.iter().map(|body| 5 + body.len()).sum::<usize>() + self.tail.len()
    }

    fn write_to(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        out.write_all(&self.head)?;
        let mut prefix = Vec::new();
        for body in &self.bodies {
            prefix.clear();
            (body.len() as u32).encode(&mut prefix);
            out.write_all(&prefix)?;
            out.write_all(body)?;
        }
        out.write_all(&self.tail)
    }
}

fn encode_body(function: &Function) -> (Cow<'_, [u8]>, bool) {
    if let Some(encoded) = &function.encoded {
        // Whoever encoded it kept the module's data count section if the body needs it.
        return (Cow::Borrowed(encoded), false);
    }
    let mut encoded = wasm_encoder::Function::new(function.locals.iter().copied());
    let mut uses_data = false;
    for instr in &function.body {
        uses_data |= matches!(instr, Instr::MemoryInit { .. } | Instr::DataDrop(_));
        encoded.instruction(instr);
    }
    (Cow::Owned(encoded.into_raw_body()), uses_data)
}

impl ConstExpr {
    pub fn to_encoder(&self) -> wasm_encoder::ConstExpr {
        wasm_encoder::ConstExpr::extended(self.0.iter().cloned())
    }
}

/// Writes standard sections followed by the custom sections that came after them.
struct Emitter<'m> {
    module: &'m Module,
    bytes: wasm_encoder::Module,
    /// Everything before the code section's bodies, once the code section is reached.
    head: Option<Vec<u8>>,
}

impl Emitter<'_> {
    /// Ends the head with the code section's id, size and count; later sections start afresh.
    fn code_section<'b>(&mut self, bodies: Vec<Cow<'b, [u8]>>) -> Vec<Cow<'b, [u8]>> {
        let mut head = std::mem::take(&mut self.bytes).finish();
        if !bodies.is_empty() {
            let mut count = Vec::new();
            (bodies.len() as u32).encode(&mut count);
            let mut size = count.len();
            let mut prefix = Vec::new();
            for body in &bodies {
                prefix.clear();
                (body.len() as u32).encode(&mut prefix);
                size += prefix.len() + body.len();
            }
            head.push(wasm_encoder::SectionId::Code as u8);
            (size as u32).encode(&mut head);
            head.extend_from_slice(&count);
        }
        self.head = Some(head);
        bodies
    }

    fn section(&mut self, placement: Placement, section: &(impl wasm_encoder::Section + SectionLen)) {
        if section.count() > 0 {
            self.bytes.section(section);
        }
        self.custom_sections(placement);
    }

    fn custom_sections(&mut self, placement: Placement) {
        for custom in self.module.custom_sections.iter().filter(|c| c.placement == placement) {
            match &custom.content {
                CustomContent::Names => {
                    if !self.module.names.is_empty() {
                        self.bytes.section(&encode_names(&self.module.names));
                    }
                }
                CustomContent::Raw { name, data } => {
                    let section = wasm_encoder::CustomSection { name: name.into(), data: data.into() };
                    self.bytes.section(&section);
                }
            }
        }
    }
}

/// Lets empty sections be left out uniformly.
trait SectionLen {
    fn count(&self) -> u32;
}

macro_rules! section_len {
    ($($section:ty),*) => {
        $(impl SectionLen for $section {
            fn count(&self) -> u32 {
                self.len()
            }
        })*
    };
}

section_len!(
    TypeSection,
    ImportSection,
    FunctionSection,
    TableSection,
    MemorySection,
    GlobalSection,
    ExportSection,
    ElementSection,
    DataSection
);
