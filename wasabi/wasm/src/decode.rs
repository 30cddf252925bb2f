//! Binary → IR. Sections are read in order; function bodies are decoded (and validated) in
//! parallel once the whole module has been seen.

use crate::Error;
use crate::features::{classify, supported_features};
use crate::instr::{TranslateError, translate};
use crate::module::*;
use crate::names::decode_names;
use rayon::prelude::*;
use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasmparser::{
    BinaryReaderError, FuncToValidate, FunctionBody, Parser, Payload, ValidPayload, Validator,
    ValidatorResources, WasmFeatures,
};

/// How [`Module::decode_with`] reads its input.
#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    /// Proposals the input may use; anything else is refused.
    pub features: WasmFeatures,
    /// Validate while decoding. Turn off only for input that is known to be valid.
    pub validate: bool,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { features: supported_features(), validate: true }
    }
}

impl Module {
    /// Decodes and validates a module that uses at most Wasm 2.0 and atomics.
    pub fn decode(bytes: &[u8]) -> Result<Module, Error> {
        Module::decode_with(bytes, &DecodeOptions::default())
    }

    pub fn decode_with(bytes: &[u8], options: &DecodeOptions) -> Result<Module, Error> {
        let (mut module, bodies) =
            Decoder::new(options).run(bytes).map_err(|error| error.resolve(bytes, options))?;
        let decoded =
            decode_bodies(bodies, options.features).map_err(|error| error.resolve(bytes, options))?;
        for (function, (locals, body)) in module.functions.iter_mut().zip(decoded) {
            function.locals = locals;
            function.body = body;
        }
        Ok(module)
    }

    /// Decodes everything but the function bodies, which are handed back undecoded (with their
    /// validators when `options.validate` is set) for tools that stream through them. The
    /// functions' `body` stays empty.
    pub fn decode_deferred<'a>(
        bytes: &'a [u8],
        options: &DecodeOptions,
    ) -> Result<(Module, Vec<DeferredBody<'a>>), Error> {
        let (module, bodies) =
            Decoder::new(options).run(bytes).map_err(|error| error.resolve(bytes, options))?;
        let bodies = bodies.into_iter().map(|(body, validator)| DeferredBody { body, validator }).collect();
        Ok((module, bodies))
    }
}

/// A function body left in binary form by [`Module::decode_deferred`].
pub struct DeferredBody<'a> {
    pub body: FunctionBody<'a>,
    /// Validates the body operator by operator; `None` when decoding without validation.
    pub validator: Option<FuncToValidate<ValidatorResources>>,
}

/// Turns an error met while reading a deferred body into ours, telling apart broken input from
/// input that uses an unsupported proposal.
pub fn body_error(bytes: &[u8], options: &DecodeOptions, error: BinaryReaderError) -> Error {
    Failure::Parse(error).resolve(bytes, options)
}

/// A failure before it is known whether a fuller feature set would have accepted the input.
enum Failure {
    Parse(BinaryReaderError),
    Unsupported { feature: &'static str, offset: u64 },
    Convert { message: String, offset: u64 },
    Malformed { message: String, offset: u64 },
}

impl From<BinaryReaderError> for Failure {
    fn from(error: BinaryReaderError) -> Self {
        Failure::Parse(error)
    }
}

impl Failure {
    fn from_translate(error: TranslateError, offset: u64) -> Self {
        match error {
            TranslateError::Unsupported(feature) => Failure::Unsupported { feature, offset },
            TranslateError::Convert(message) => Failure::Convert { message, offset },
        }
    }

    fn resolve(self, bytes: &[u8], options: &DecodeOptions) -> Error {
        match self {
            Failure::Parse(error) => classify(bytes, options.features, &error),
            Failure::Unsupported { feature, offset } => {
                Error::Unsupported { feature: feature.replace('_', "-"), offset }
            }
            Failure::Convert { message, offset } => Error::Unsupported { feature: message, offset },
            Failure::Malformed { message, offset } => Error::Invalid { message, offset },
        }
    }
}

type Body<'a> = (FunctionBody<'a>, Option<FuncToValidate<ValidatorResources>>);

struct Decoder<'a> {
    module: Module,
    validator: Option<Validator>,
    bodies: Vec<Body<'a>>,
    placement: Placement,
    features: WasmFeatures,
    saw_header: bool,
}

fn unsupported(feature: &'static str, offset: u64) -> Failure {
    Failure::Unsupported { feature, offset }
}

fn convert<T, E: std::fmt::Display>(result: Result<T, E>, offset: u64) -> Result<T, Failure> {
    result.map_err(|error| Failure::Convert { message: error.to_string(), offset })
}

impl<'a> Decoder<'a> {
    fn new(options: &DecodeOptions) -> Self {
        Decoder {
            module: Module::default(),
            validator: options.validate.then(|| Validator::new_with_features(options.features)),
            bodies: Vec::new(),
            placement: Placement::BeforeAll,
            features: options.features,
            saw_header: false,
        }
    }

    fn run(mut self, bytes: &'a [u8]) -> Result<(Module, Vec<Body<'a>>), Failure> {
        // The parser reads some immediates by feature (memory limits are 64-bit with memory64),
        // so it must know the features or it accepts overlong encodings.
        let mut parser = Parser::new(0);
        parser.set_features(self.features);
        for payload in parser.parse_all(bytes) {
            let payload = payload?;
            let validated = match &mut self.validator {
                Some(validator) => Some(validator.payload(&payload)?),
                None => None,
            };
            if let Some(ValidPayload::Func(func, body)) = validated {
                self.bodies.push((body, Some(func)));
                continue;
            }
            self.payload(payload)?;
        }
        if !self.saw_header {
            return Err(Failure::Malformed { message: "empty input: not a wasm module".into(), offset: 0 });
        }
        if self.bodies.len() != self.module.functions.len() {
            let offset = bytes.len() as u64;
            let message = "function and code section have inconsistent lengths".to_string();
            return Err(Failure::Malformed { message, offset });
        }
        Ok((self.module, self.bodies))
    }

    fn payload(&mut self, payload: Payload<'a>) -> Result<(), Failure> {
        let module = &mut self.module;
        match payload {
            Payload::Version { encoding: wasmparser::Encoding::Component, range, .. } => {
                return Err(unsupported("component-model", range.start));
            }
            Payload::Version { .. } => self.saw_header = true,
            Payload::End(_) => {}
            Payload::TypeSection(reader) => {
                for group in reader.into_iter_with_offsets() {
                    let (offset, group) = group?;
                    module.types.extend(func_types(group, offset)?);
                }
                self.placement = Placement::AfterType;
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports_with_offsets() {
                    let (offset, import) = import?;
                    module.imports.push(self::import(import, offset)?);
                }
                self.placement = Placement::AfterImport;
            }
            Payload::FunctionSection(reader) => {
                for type_index in reader {
                    module.functions.push(Function { type_index: type_index?, ..Function::default() });
                }
                self.placement = Placement::AfterFunction;
            }
            Payload::TableSection(reader) => {
                for table in reader.into_iter_with_offsets() {
                    let (offset, table) = table?;
                    if let wasmparser::TableInit::Expr(_) = table.init {
                        return Err(unsupported("function-references (table initializer)", offset));
                    }
                    module.tables.push(convert(RoundtripReencoder.table_type(table.ty), offset)?);
                }
                self.placement = Placement::AfterTable;
            }
            Payload::MemorySection(reader) => {
                for memory in reader.into_iter_with_offsets() {
                    let (offset, memory) = memory?;
                    module.memories.push(convert(RoundtripReencoder.memory_type(memory), offset)?);
                }
                self.placement = Placement::AfterMemory;
            }
            Payload::TagSection(reader) => return Err(unsupported("exceptions", reader.range().start)),
            Payload::GlobalSection(reader) => {
                for global in reader.into_iter_with_offsets() {
                    let (offset, global) = global?;
                    let ty = convert(RoundtripReencoder.global_type(global.ty), offset)?;
                    module.globals.push(Global { ty, init: const_expr(&global.init_expr)? });
                }
                self.placement = Placement::AfterGlobal;
            }
            Payload::ExportSection(reader) => {
                for export in reader.into_iter_with_offsets() {
                    let (offset, export) = export?;
                    module.exports.push(self::export(export, offset)?);
                }
                self.placement = Placement::AfterExport;
            }
            Payload::StartSection { func, .. } => {
                module.start = Some(func);
                self.placement = Placement::AfterStart;
            }
            Payload::ElementSection(reader) => {
                for element in reader {
                    module.elements.push(self::element(element?)?);
                }
                self.placement = Placement::AfterElement;
            }
            Payload::DataCountSection { .. } => {
                module.data_count = true;
                self.placement = Placement::AfterDataCount;
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    module.data.push(self::data(data?)?);
                }
                self.placement = Placement::AfterData;
            }
            Payload::CodeSectionStart { .. } => self.placement = Placement::AfterCode,
            Payload::CodeSectionEntry(body) => self.bodies.push((body, None)),
            Payload::CustomSection(reader) => self.custom_section(reader),
            other => {
                let offset = other.as_section().map_or(0, |(_, range)| range.start);
                return Err(unsupported("non-core section", offset));
            }
        }
        Ok(())
    }

    fn custom_section(&mut self, reader: wasmparser::CustomSectionReader<'a>) {
        let placement = self.placement;
        // A malformed name section must not make the module unusable (the spec says to ignore
        // it), so it is kept verbatim instead.
        if reader.name() == "name"
            && let wasmparser::KnownCustom::Name(names) = reader.as_known()
            && let Some(names) = decode_names(names)
        {
            self.module.names = names;
            self.module.custom_sections.push(CustomSection { placement, content: CustomContent::Names });
            return;
        }
        let content = CustomContent::Raw { name: reader.name().to_string(), data: reader.data().to_vec() };
        self.module.custom_sections.push(CustomSection { placement, content });
    }
}

fn func_types(group: wasmparser::RecGroup, offset: u64) -> Result<Vec<FuncType>, Failure> {
    if group.is_explicit_rec_group() {
        return Err(unsupported("gc (recursive type group)", offset));
    }
    let mut types = Vec::new();
    for sub_type in group.into_types() {
        let composite = &sub_type.composite_type;
        let wasmparser::CompositeInnerType::Func(func) = &composite.inner else {
            return Err(unsupported("gc (non-function type)", offset));
        };
        if !sub_type.is_final || !sub_type.supertype_idxs.is_empty() || composite.shared {
            return Err(unsupported("gc (subtyping)", offset));
        }
        let val_types = |types: &[wasmparser::ValType]| -> Result<Vec<ValType>, Failure> {
            types.iter().map(|&ty| convert(RoundtripReencoder.val_type(ty), offset)).collect()
        };
        types.push(FuncType { params: val_types(func.params())?, results: val_types(func.results())? });
    }
    Ok(types)
}

fn import(import: wasmparser::Import, offset: u64) -> Result<Import, Failure> {
    let kind = match import.ty {
        wasmparser::TypeRef::Func(index) => ImportKind::Function(index),
        wasmparser::TypeRef::Table(ty) => {
            ImportKind::Table(convert(RoundtripReencoder.table_type(ty), offset)?)
        }
        wasmparser::TypeRef::Memory(ty) => {
            ImportKind::Memory(convert(RoundtripReencoder.memory_type(ty), offset)?)
        }
        wasmparser::TypeRef::Global(ty) => {
            ImportKind::Global(convert(RoundtripReencoder.global_type(ty), offset)?)
        }
        wasmparser::TypeRef::Tag(_) => return Err(unsupported("exceptions", offset)),
        wasmparser::TypeRef::FuncExact(_) => return Err(unsupported("custom-descriptors", offset)),
    };
    Ok(Import { module: import.module.to_string(), name: import.name.to_string(), kind })
}

fn export(export: wasmparser::Export, offset: u64) -> Result<Export, Failure> {
    let kind = match export.kind {
        wasmparser::ExternalKind::Func => ExportKind::Function,
        wasmparser::ExternalKind::Table => ExportKind::Table,
        wasmparser::ExternalKind::Memory => ExportKind::Memory,
        wasmparser::ExternalKind::Global => ExportKind::Global,
        wasmparser::ExternalKind::Tag => return Err(unsupported("exceptions", offset)),
        wasmparser::ExternalKind::FuncExact => return Err(unsupported("custom-descriptors", offset)),
    };
    Ok(Export { name: export.name.to_string(), kind, index: export.index })
}

fn element(element: wasmparser::Element) -> Result<Element, Failure> {
    let offset = element.range.start;
    let mode = match element.kind {
        wasmparser::ElementKind::Passive => ElementMode::Passive,
        wasmparser::ElementKind::Declared => ElementMode::Declarative,
        wasmparser::ElementKind::Active { table_index, offset_expr } => {
            ElementMode::Active { table: table_index.unwrap_or(0), offset: const_expr(&offset_expr)? }
        }
    };
    let items = match element.items {
        wasmparser::ElementItems::Functions(functions) => {
            ElementItems::Functions(functions.into_iter().collect::<Result<_, _>>()?)
        }
        wasmparser::ElementItems::Expressions(ty, exprs) => {
            let ty = convert(RoundtripReencoder.ref_type(ty), offset)?;
            let exprs = exprs.into_iter().map(|expr| const_expr(&expr?));
            ElementItems::Expressions(ty, exprs.collect::<Result<_, _>>()?)
        }
    };
    Ok(Element { mode, items })
}

fn data(data: wasmparser::Data) -> Result<Data, Failure> {
    let mode = match data.kind {
        wasmparser::DataKind::Passive => DataMode::Passive,
        wasmparser::DataKind::Active { memory_index, offset_expr } => {
            DataMode::Active { memory: memory_index, offset: const_expr(&offset_expr)? }
        }
    };
    Ok(Data { mode, bytes: data.data.to_vec() })
}

fn const_expr(expr: &wasmparser::ConstExpr) -> Result<ConstExpr, Failure> {
    let mut reader = expr.get_operators_reader();
    let mut instrs = Vec::new();
    while !reader.eof() {
        let offset = reader.original_position();
        let instr = translate(reader.read()?).map_err(|error| Failure::from_translate(error, offset))?;
        instrs.push(instr);
    }
    if let Some(Instr::End) = instrs.last() {
        instrs.pop();
    }
    Ok(ConstExpr(instrs))
}

/// Decodes every body in parallel; the first failure in module order wins, so errors are
/// deterministic whatever the thread count.
fn decode_bodies(bodies: Vec<Body<'_>>, features: WasmFeatures) -> Result<Vec<DecodedBody>, Failure> {
    let decoded: Vec<Result<DecodedBody, Failure>> =
        bodies.into_par_iter().map(|(body, validate)| decode_body(&body, validate, features)).collect();
    decoded.into_iter().collect()
}

type DecodedBody = (Vec<(u32, ValType)>, Vec<Instr>);

fn decode_body(
    body: &FunctionBody<'_>,
    validate: Option<FuncToValidate<ValidatorResources>>,
    features: WasmFeatures,
) -> Result<DecodedBody, Failure> {
    let mut validator = validate.map(|func| func.into_validator(Default::default()));
    let mut locals = Vec::new();
    let mut locals_reader = body.get_locals_reader()?;
    for _ in 0..locals_reader.get_count() {
        let offset = locals_reader.original_position();
        let (count, ty) = locals_reader.read()?;
        if let Some(validator) = &mut validator {
            validator.define_locals(offset, count, ty)?;
        }
        locals.push((count, convert(RoundtripReencoder.val_type(ty), offset)?));
    }
    let mut binary = body.get_binary_reader_for_operators()?;
    binary.set_features(features);
    let mut reader = wasmparser::OperatorsReader::new(binary);
    // Roughly one instruction per two bytes of code; avoids most reallocations.
    let mut instrs = Vec::with_capacity((body.range().end - body.range().start) as usize / 2);
    while !reader.eof() {
        let offset = reader.original_position();
        let op = reader.read()?;
        if let Some(validator) = &mut validator {
            validator.op(offset, &op)?;
        }
        instrs.push(translate(op).map_err(|error| Failure::from_translate(error, offset))?);
    }
    reader.finish()?;
    // The estimate above overshoots on most code; big modules hold millions of instructions.
    instrs.shrink_to_fit();
    Ok((locals, instrs))
}
