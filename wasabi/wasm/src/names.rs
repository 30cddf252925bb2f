//! The `name` custom section, decoded into index-keyed maps and encoded back.

use crate::module::{IndirectNameMap, NameMap, Names};
use wasmparser::{Name, NameSectionReader};

/// `None` when the section is malformed or has a subsection kind the IR does not model.
pub(crate) fn decode_names(reader: NameSectionReader<'_>) -> Option<Names> {
    let mut names = Names::default();
    for subsection in reader {
        match subsection.ok()? {
            Name::Module { name, .. } => names.module = Some(name.to_string()),
            Name::Function(map) => names.functions = name_map(map)?,
            Name::Local(map) => names.locals = indirect_name_map(map)?,
            Name::Label(map) => names.labels = indirect_name_map(map)?,
            Name::Type(map) => names.types = name_map(map)?,
            Name::Table(map) => names.tables = name_map(map)?,
            Name::Memory(map) => names.memories = name_map(map)?,
            Name::Global(map) => names.globals = name_map(map)?,
            Name::Element(map) => names.elements = name_map(map)?,
            Name::Data(map) => names.data = name_map(map)?,
            Name::Field(map) => names.fields = indirect_name_map(map)?,
            Name::Tag(map) => names.tags = name_map(map)?,
            Name::Unknown { ty, data, .. } => names.unknown.push((ty, data.to_vec())),
            Name::Parameter(_) | Name::TagParameter(_) => return None,
        }
    }
    Some(names)
}

fn name_map(map: wasmparser::NameMap<'_>) -> Option<NameMap> {
    map.into_iter().map(|naming| naming.ok().map(|n| (n.index, n.name.to_string()))).collect()
}

fn indirect_name_map(map: wasmparser::IndirectNameMap<'_>) -> Option<IndirectNameMap> {
    map.into_iter()
        .map(|naming| {
            let naming = naming.ok()?;
            Some((naming.index, name_map(naming.names)?))
        })
        .collect()
}

pub(crate) fn encode_names(names: &Names) -> wasm_encoder::NameSection {
    let mut section = wasm_encoder::NameSection::new();
    if let Some(module) = &names.module {
        section.module(module);
    }
    let direct = |map: &NameMap| {
        let mut encoded = wasm_encoder::NameMap::new();
        for (index, name) in map {
            encoded.append(*index, name);
        }
        encoded
    };
    let indirect = |map: &IndirectNameMap| {
        let mut encoded = wasm_encoder::IndirectNameMap::new();
        for (index, names) in map {
            encoded.append(*index, &direct(names));
        }
        encoded
    };
    macro_rules! subsection {
        ($method:ident, $map:expr, $convert:ident) => {
            if !$map.is_empty() {
                section.$method(&$convert(&$map));
            }
        };
    }
    // In the order the specification requires.
    subsection!(functions, names.functions, direct);
    subsection!(locals, names.locals, indirect);
    subsection!(labels, names.labels, indirect);
    subsection!(types, names.types, direct);
    subsection!(tables, names.tables, direct);
    subsection!(memories, names.memories, direct);
    subsection!(globals, names.globals, direct);
    subsection!(elements, names.elements, direct);
    subsection!(data, names.data, direct);
    subsection!(fields, names.fields, indirect);
    subsection!(tags, names.tags, direct);
    for (id, data) in &names.unknown {
        section.raw(*id, data);
    }
    section
}
