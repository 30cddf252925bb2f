//! The two-module form on disk: `host.wasm`, the original named in its `r3-replay` section,
//! and `run.mjs`, in one folder.

use super::original::{Original, PlainOriginal, RecordedOriginal};
use super::runner::SegmentReport;
use super::{LinkError, link};
use crate::section::ReplaySection;
use r3_hooks::Header;
use r3_hooks::wasmtime::{Engine, Module, Store};
use std::path::{Path, PathBuf};

/// The host module's file name in the folder.
pub const HOST_FILE: &str = "host.wasm";

pub struct ReplayDir {
    pub dir: PathBuf,
    pub host: Vec<u8>,
    pub section: ReplaySection,
    pub original_path: PathBuf,
    pub original: Vec<u8>,
}

impl ReplayDir {
    /// Reads the folder; the original must be the one the section names, byte for byte.
    pub fn read(dir: &Path) -> Result<ReplayDir, LinkError> {
        let host_path = dir.join(HOST_FILE);
        let host = read(&host_path)?;
        let section = ReplaySection::read(&host)
            .map_err(|error| LinkError::Section { path: host_path.clone(), error })?
            .ok_or(LinkError::NoSection { path: host_path })?;
        let original_path = dir.join(&section.original.name);
        let original = read(&original_path)?;
        let found = Header::new(&original, 0).module_sha256;
        if found != section.original.sha256 {
            return Err(LinkError::OriginalMismatch {
                path: original_path,
                expected: section.original.sha256.clone(),
                found,
            });
        }
        Ok(ReplayDir { dir: dir.to_path_buf(), host, section, original_path, original })
    }

    /// Runs the replay with O as it is.
    pub fn run(&self, engine: &Engine) -> Result<Vec<SegmentReport>, LinkError> {
        let mut original = PlainOriginal::new(engine, &self.original)?;
        let mut store = Store::new(engine, ());
        self.run_with(&mut store, &mut original)
    }

    /// Runs the replay with O recorded into `out_dir`; returns the reports and the new trace.
    pub fn record(
        &self,
        engine: &Engine,
        out_dir: &Path,
    ) -> Result<(Vec<SegmentReport>, PathBuf), LinkError> {
        let name = self.original_path.file_stem().map(|stem| stem.to_string_lossy().into_owned());
        let name = name.unwrap_or_else(|| "original".into());
        let mut original = RecordedOriginal::new(engine, &self.original, &name, out_dir.to_path_buf())?;
        let mut store = Store::new(engine, ());
        let reports = self.run_with(&mut store, &mut original)?;
        let trace = original.finish(&mut store)?;
        Ok((reports, trace))
    }

    fn run_with<O: Original>(
        &self,
        store: &mut Store<()>,
        original: &mut O,
    ) -> Result<Vec<SegmentReport>, LinkError> {
        let host = Module::new(store.engine(), &self.host)
            .map_err(|error| LinkError::Compile { what: HOST_FILE.into(), error })?;
        let linked = link(&mut *store, &host, &self.section, original)?;
        linked.run(&mut *store, &self.section)
    }
}

fn read(path: &Path) -> Result<Vec<u8>, LinkError> {
    std::fs::read(path).map_err(|error| LinkError::Read { path: path.to_path_buf(), error })
}
