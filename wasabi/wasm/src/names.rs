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
    // Subsections in the order the specification requires; empty ones are left out.
    let subsections: [(&dyn Fn(&mut wasm_encoder::NameSection), bool); 11] = [
        (&|s| s.functions(&direct(&names.functions)), names.functions.is_empty()),
        (&|s| s.locals(&indirect(&names.locals)), names.locals.is_empty()),
        (&|s| s.labels(&indirect(&names.labels)), names.labels.is_empty()),
        (&|s| s.types(&direct(&names.types)), names.types.is_empty()),
        (&|s| s.tables(&direct(&names.tables)), names.tables.is_empty()),
        (&|s| s.memories(&direct(&names.memories)), names.memories.is_empty()),
        (&|s| s.globals(&direct(&names.globals)), names.globals.is_empty()),
        (&|s| s.elements(&direct(&names.elements)), names.elements.is_empty()),
        (&|s| s.data(&direct(&names.data)), names.data.is_empty()),
        (&|s| s.fields(&indirect(&names.fields)), names.fields.is_empty()),
        (&|s| s.tags(&direct(&names.tags)), names.tags.is_empty()),
    ];
    for (encode, empty) in subsections {
        if !empty {
            encode(&mut section);
        }
    }
    for (id, data) in &names.unknown {
        section.raw(*id, data);
    }
    section
}
