//! Trace → replay IR: the trace's flat event list regrouped by who has control. The replay
//! host needs, per imported function, its calls in the order the module made them and, per
//! call, what the host did while it had control; and the top-level export calls in order.
//!
//! Host effects (memory bytes, table entries, globals, growth) are written when the module
//! observes them; docs/trace-format.md says they happened at the end of the latest host
//! interval before that. A cursor marks that place: just before the export call that ended
//! the interval, or at the end of the import call that returned (or threw).

use r3_hooks::trace::{Event, Trace, Value, ValueType};
use std::collections::BTreeMap;
use thiserror::Error;

#[derive(Debug, Error)]
#[error("event {index} ({kind}): {message}")]
pub struct ReduceError {
    pub index: usize,
    pub kind: &'static str,
    pub message: String,
}

/// A host change to state the module can see, applied by the replay where the host made it.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    MemoryWrite { memory: u32, addr: u64, bytes: Vec<u8> },
    MemoryGrow { memory: u32, pages: u64 },
    TableSet { table: u32, index: u64, value: Value },
    TableGrow { table: u32, size: u64, init: Value },
    GlobalSet { global: u32, value: Value },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Effect(Effect),
    /// An export call, by index into [`Replay::export_calls`].
    Call(usize),
}

/// How a call ended in the recording.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Return(Vec<Value>),
    Trap,
    Throw,
    /// The recording ended while the call was running (the program exited from inside it).
    Unfinished,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExportCall {
    /// The `export_call` event's index in the trace, for error messages.
    pub event: usize,
    pub func: u32,
    /// Empty when the host reached the function other than by its export name.
    pub name: String,
    pub args: Vec<Value>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportCall {
    /// The index of the event that ended the call (or started it, if it never ended).
    pub event: usize,
    /// What the host did before the import returned, as an index into [`Replay::lists`].
    pub actions: usize,
    pub outcome: Outcome,
}

/// The top-level export calls up to and including one that did not return (or the last).
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub actions: usize,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Replay {
    /// Effects before the first event (the host's set-up at instantiation).
    pub init: usize,
    pub segments: Vec<Segment>,
    /// Calls of each imported function (by function index), in the order the module made them.
    pub imports: BTreeMap<u32, Vec<ImportCall>>,
    /// The same for each foreign function (by id), and its declared signature.
    pub foreign: BTreeMap<u64, Vec<ImportCall>>,
    pub foreign_types: BTreeMap<u64, ForeignType>,
    pub export_calls: Vec<ExportCall>,
    /// Action lists, referenced by index from the items above.
    pub lists: Vec<Vec<Action>>,
    /// Places where the replay must diverge from the recording, with the event index.
    pub warnings: Vec<String>,
    /// Whether the module called imports outside any export call (from its start function).
    pub imports_at_instantiation: bool,
    /// Maxima (pages) of imported memories below the module's declared ones.
    pub memory_max: BTreeMap<u32, u64>,
}

impl Replay {
    pub fn actions(&self, list: usize) -> &[Action] {
        &self.lists[list]
    }

    /// Whether any segment ends other than by returning: runners must then run segment by
    /// segment.
    pub fn ends_early(&self) -> bool {
        self.segments.iter().any(|segment| !matches!(segment.outcome, Outcome::Return(_)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignType {
    pub params: Vec<ValueType>,
    pub results: Vec<ValueType>,
}

/// What the module called outside itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Callee {
    Import(u32),
    Foreign(u64),
}

impl Callee {
    fn describe(self) -> String {
        match self {
            Callee::Import(func) => format!("import {func}"),
            Callee::Foreign(id) => format!("foreign function {id}"),
        }
    }
}

enum Frame {
    /// The module runs an export call.
    Export { call: usize },
    /// The host runs an import (or foreign function) call the module made.
    Import { call: ImportRef },
}

#[derive(Clone, Copy)]
struct ImportRef {
    callee: Callee,
    position: usize,
}

struct Cursor {
    list: usize,
    position: usize,
}

struct Reducer {
    replay: Replay,
    frames: Vec<Frame>,
    cursor: Option<Cursor>,
    /// The list the current top-level segment appends to.
    segment: usize,
    index: usize,
}

/// Regroups a trace's events; fails on a trace whose calls do not nest.
pub fn reduce(trace: &Trace) -> Result<Replay, ReduceError> {
    reduce_with(trace, &|func| func)
}

/// [`reduce`], with the calls of every imported function counted as calls of
/// `same_function(func)`: a module that imports one host function twice (same module, name and
/// type) is given that one function for both imports by any host, so a replay must answer the
/// calls of both from one sequence.
pub fn reduce_with(trace: &Trace, same_function: &dyn Fn(u32) -> u32) -> Result<Replay, ReduceError> {
    let mut reducer = Reducer::new();
    let mut ended = false;
    for (index, event) in trace.events.iter().enumerate() {
        reducer.index = index;
        if ended {
            return Err(reducer.error(event, "event after `end`"));
        }
        ended = matches!(event, Event::End { .. });
        reducer.event(event, same_function)?;
    }
    Ok(reducer.finish())
}

impl Reducer {
    fn new() -> Self {
        let mut replay = Replay::default();
        replay.lists.push(Vec::new());
        replay.lists.push(Vec::new());
        replay.init = 0;
        replay.segments.push(Segment { actions: 1, outcome: Outcome::Return(Vec::new()) });
        Reducer { replay, frames: Vec::new(), cursor: None, segment: 1, index: 0 }
    }

    fn error(&self, event: &Event, message: impl Into<String>) -> ReduceError {
        ReduceError { index: self.index, kind: event.kind(), message: message.into() }
    }

    fn event(&mut self, event: &Event, same_function: &dyn Fn(u32) -> u32) -> Result<(), ReduceError> {
        match event {
            Event::ExportCall { func, name, args } => {
                let call = ExportCall {
                    event: self.index,
                    func: *func,
                    name: name.clone(),
                    args: args.clone(),
                    outcome: Outcome::Unfinished,
                };
                self.export_call(call);
            }
            Event::ExportReturn { results } => self.export_end(event, Outcome::Return(results.clone()))?,
            Event::ExportTrap { .. } => self.export_end(event, Outcome::Trap)?,
            Event::ExportThrow => self.export_end(event, Outcome::Throw)?,
            Event::ImportCall { func, .. } => self.import_call(Callee::Import(same_function(*func))),
            Event::ImportReturn { func, results } => {
                let callee = Callee::Import(same_function(*func));
                self.import_end(event, callee, Outcome::Return(results.clone()))?
            }
            Event::ImportThrow { func } => {
                self.import_end(event, Callee::Import(same_function(*func)), Outcome::Throw)?
            }
            Event::Foreign { id, params, results } => {
                let ty = ForeignType { params: params.clone(), results: results.clone() };
                if self.replay.foreign_types.insert(*id, ty).is_some() {
                    return Err(self.error(event, format!("foreign function {id} is declared twice")));
                }
            }
            Event::ForeignCall { id, .. } => {
                self.declared(event, *id)?;
                self.import_call(Callee::Foreign(*id))
            }
            Event::ForeignReturn { id, results } => {
                self.declared(event, *id)?;
                self.import_end(event, Callee::Foreign(*id), Outcome::Return(results.clone()))?
            }
            Event::ForeignThrow { id } => {
                self.declared(event, *id)?;
                self.import_end(event, Callee::Foreign(*id), Outcome::Throw)?
            }
            Event::MemoryWrite { .. } | Event::MemoryWrites { .. } => {
                for (memory, addr, bytes) in event.memory_runs() {
                    self.effect(Effect::MemoryWrite { memory, addr, bytes: bytes.to_vec() });
                }
            }
            Event::MemoryMax { memory, pages } => {
                self.replay.memory_max.insert(*memory, *pages);
            }
            Event::MemoryGrow { memory, pages } => {
                self.effect(Effect::MemoryGrow { memory: *memory, pages: *pages })
            }
            Event::TableSet { table, index, value } => {
                self.effect(Effect::TableSet { table: *table, index: *index, value: *value })
            }
            Event::TableGrow { table, size, init } => {
                self.effect(Effect::TableGrow { table: *table, size: *size, init: *init })
            }
            Event::GlobalSet { global, value } => {
                self.effect(Effect::GlobalSet { global: *global, value: *value })
            }
            Event::End { .. } => {}
        }
        Ok(())
    }

    /// The list of the host that has control now: the innermost import call, or the top level.
    fn host_list(&self) -> usize {
        match self.frames.last() {
            Some(Frame::Import { call }) => self.import(*call).actions,
            _ => self.segment,
        }
    }

    fn declared(&self, event: &Event, id: u64) -> Result<(), ReduceError> {
        if self.replay.foreign_types.contains_key(&id) {
            return Ok(());
        }
        Err(self.error(event, format!("foreign function {id} is not declared before")))
    }

    fn calls(&mut self, callee: Callee) -> &mut Vec<ImportCall> {
        match callee {
            Callee::Import(func) => self.replay.imports.entry(func).or_default(),
            Callee::Foreign(id) => self.replay.foreign.entry(id).or_default(),
        }
    }

    fn import(&self, call: ImportRef) -> &ImportCall {
        match call.callee {
            Callee::Import(func) => &self.replay.imports[&func][call.position],
            Callee::Foreign(id) => &self.replay.foreign[&id][call.position],
        }
    }

    fn import_mut(&mut self, call: ImportRef) -> &mut ImportCall {
        &mut self.calls(call.callee)[call.position]
    }

    fn export_call(&mut self, call: ExportCall) {
        // The module runs an export, so the host cannot call one: that export returned, its
        // `export_return` left out (docs/trace-format.md, "Call-stack optimisation"). A
        // replay needs no export's results: the module computes them.
        if let Some(Frame::Export { call }) = self.frames.last() {
            self.replay.export_calls[*call].outcome = Outcome::Return(Vec::new());
            self.frames.pop();
        }
        let list = self.host_list();
        let id = self.replay.export_calls.len();
        self.replay.export_calls.push(call);
        let actions = &mut self.replay.lists[list];
        self.cursor = Some(Cursor { list, position: actions.len() });
        actions.push(Action::Call(id));
        self.frames.push(Frame::Export { call: id });
    }

    fn export_end(&mut self, event: &Event, outcome: Outcome) -> Result<(), ReduceError> {
        let Some(Frame::Export { call }) = self.frames.pop() else {
            return Err(self.error(event, "no export call is running"));
        };
        let survived = !matches!(outcome, Outcome::Return(_)) && !self.frames.is_empty();
        if survived {
            let what = if outcome == Outcome::Trap { "trap" } else { "host exception" };
            let warning = format!(
                "event {}: the host caught a {what} of a nested export call and went on; the replay stops there",
                self.index
            );
            self.replay.warnings.push(warning);
        }
        let top_level_failure = !matches!(outcome, Outcome::Return(_)) && self.frames.is_empty();
        self.replay.export_calls[call].outcome = outcome.clone();
        if top_level_failure {
            self.end_segment(outcome);
        }
        Ok(())
    }

    fn end_segment(&mut self, outcome: Outcome) {
        self.replay.segments.last_mut().expect("a segment is open").outcome = outcome;
        self.segment = self.replay.lists.len();
        self.replay.lists.push(Vec::new());
        self.replay.segments.push(Segment { actions: self.segment, outcome: Outcome::Return(Vec::new()) });
    }

    fn new_import_call(&mut self, callee: Callee) -> ImportRef {
        if !self.frames.iter().any(|frame| matches!(frame, Frame::Export { .. })) {
            self.replay.imports_at_instantiation = true;
        }
        let actions = self.replay.lists.len();
        self.replay.lists.push(Vec::new());
        let event = self.index;
        let calls = self.calls(callee);
        calls.push(ImportCall { event, actions, outcome: Outcome::Unfinished });
        ImportRef { callee, position: calls.len() - 1 }
    }

    fn import_call(&mut self, callee: Callee) {
        let call = self.new_import_call(callee);
        self.frames.push(Frame::Import { call });
    }

    fn import_end(&mut self, event: &Event, callee: Callee, outcome: Outcome) -> Result<(), ReduceError> {
        let call = match self.frames.last() {
            Some(Frame::Import { call }) if call.callee == callee => {
                let call = *call;
                self.frames.pop();
                call
            }
            Some(Frame::Import { call }) => {
                let (open, ended) = (call.callee.describe(), callee.describe());
                return Err(self.error(event, format!("{open} is the call running, not {ended}")));
            }
            // The call-stack optimisation left out the `import_call`: nothing happened inside.
            Some(Frame::Export { .. }) | None => self.new_import_call(callee),
        };
        let index = self.index;
        let ended = self.import_mut(call);
        ended.outcome = outcome;
        ended.event = index;
        let list = self.import(call).actions;
        self.cursor = Some(Cursor { list, position: self.replay.lists[list].len() });
        Ok(())
    }

    fn effect(&mut self, effect: Effect) {
        let cursor = self.cursor.get_or_insert(Cursor { list: 0, position: 0 });
        self.replay.lists[cursor.list].insert(cursor.position, Action::Effect(effect));
        cursor.position += 1;
    }

    fn finish(mut self) -> Replay {
        // Calls still open when the recording ended: the program exited from inside them.
        if let Some(Frame::Export { .. }) = self.frames.first() {
            self.replay.segments.last_mut().expect("a segment is open").outcome = Outcome::Unfinished;
        } else if self.replay.segments.len() > 1 && self.replay.lists[self.segment].is_empty() {
            // The last segment was opened after a failing call and nothing followed.
            self.replay.segments.pop();
        }
        self.replay
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use r3_hooks::trace::Header;

    fn trace(events: Vec<Event>) -> Trace {
        Trace { header: Header::new(b"", 0), events }
    }

    fn call(func: u32, name: &str) -> Event {
        Event::ExportCall { func, name: name.into(), args: vec![] }
    }

    fn returned(results: Vec<Value>) -> Event {
        Event::ExportReturn { results }
    }

    fn write(addr: u64) -> Event {
        Event::MemoryWrite { memory: 0, addr, bytes: vec![1] }
    }

    fn effect(addr: u64) -> Action {
        Action::Effect(Effect::MemoryWrite { memory: 0, addr, bytes: vec![1] })
    }

    #[test]
    fn effects_go_where_the_host_last_had_control() {
        let replay = reduce(&trace(vec![
            Event::GlobalSet { global: 0, value: Value::I32(7) },
            call(3, "main"),
            write(10),
            Event::ImportReturn { func: 0, results: vec![Value::I32(1)] },
            write(20),
            Event::ImportReturn { func: 0, results: vec![Value::I32(1)] },
            returned(vec![]),
            Event::End { naive_events: 0 },
        ]))
        .unwrap();
        assert_eq!(
            replay.actions(replay.init),
            [Action::Effect(Effect::GlobalSet { global: 0, value: Value::I32(7) })]
        );
        assert_eq!(replay.segments.len(), 1);
        assert_eq!(replay.actions(replay.segments[0].actions), [effect(10), Action::Call(0)]);
        let calls = &replay.imports[&0];
        assert_eq!(calls.len(), 2);
        assert_eq!(replay.actions(calls[0].actions), [effect(20)]);
        assert!(replay.actions(calls[1].actions).is_empty());
        assert_eq!(calls[1].outcome, Outcome::Return(vec![Value::I32(1)]));
    }

    #[test]
    fn reentrant_calls_nest_in_their_import_call() {
        let replay = reduce(&trace(vec![
            call(3, "outer"),
            Event::ImportCall { func: 1, args: vec![] },
            call(4, "inner"),
            Event::ImportReturn { func: 1, results: vec![] },
            returned(vec![Value::I64(-1)]),
            Event::ImportReturn { func: 1, results: vec![] },
            write(5),
            returned(vec![]),
        ]))
        .unwrap();
        let calls = &replay.imports[&1];
        // Entry order: the outer call first, then the one made inside `inner`.
        assert_eq!(replay.actions(calls[0].actions), [Action::Call(1), effect(5)]);
        assert!(replay.actions(calls[1].actions).is_empty());
        assert_eq!(replay.export_calls[1].name, "inner");
        assert_eq!(replay.export_calls[1].outcome, Outcome::Return(vec![Value::I64(-1)]));
        assert_eq!(replay.actions(replay.segments[0].actions), [Action::Call(0)]);
    }

    #[test]
    fn an_export_call_implies_the_return_of_the_export_running() {
        let replay = reduce(&trace(vec![
            call(3, "outer"),
            Event::ImportCall { func: 1, args: vec![] },
            call(4, "first"),
            write(8),
            call(5, "second"),
            returned(vec![]),
            Event::ImportReturn { func: 1, results: vec![] },
            call(3, "outer"),
            Event::End { naive_events: 0 },
        ]))
        .unwrap();
        // `first` returned to the import's host, which then called `second`; and `outer`
        // returned before the host called it again.
        assert_eq!(
            replay.actions(replay.imports[&1][0].actions),
            [effect(8), Action::Call(1), Action::Call(2)]
        );
        assert_eq!(replay.export_calls[1].outcome, Outcome::Return(vec![]));
        assert_eq!(replay.actions(replay.segments[0].actions), [Action::Call(0), Action::Call(3)]);
        assert_eq!(replay.segments[0].outcome, Outcome::Unfinished);
    }

    #[test]
    fn top_level_traps_and_throws_end_segments() {
        let replay = reduce(&trace(vec![
            call(0, "a"),
            Event::ExportTrap { message: "unreachable".into() },
            call(1, "b"),
            Event::ImportThrow { func: 0 },
            Event::ExportThrow,
            call(0, "a"),
            returned(vec![]),
        ]))
        .unwrap();
        let outcomes: Vec<_> = replay.segments.iter().map(|segment| segment.outcome.clone()).collect();
        assert_eq!(outcomes, [Outcome::Trap, Outcome::Throw, Outcome::Return(vec![])]);
        assert!(replay.ends_early());
        assert_eq!(replay.imports[&0][0].outcome, Outcome::Throw);
        assert!(replay.warnings.is_empty());
    }

    #[test]
    fn a_recording_that_ends_inside_calls_leaves_them_unfinished() {
        let replay = reduce(&trace(vec![
            call(2, "main"),
            Event::ImportCall { func: 0, args: vec![Value::I32(1)] },
            Event::End { naive_events: 3 },
        ]))
        .unwrap();
        assert_eq!(replay.segments[0].outcome, Outcome::Unfinished);
        assert_eq!(replay.imports[&0][0].outcome, Outcome::Unfinished);
    }

    #[test]
    fn duplicate_imports_share_one_sequence_of_calls_in_call_order() {
        let events = vec![
            call(3, "run"),
            Event::ImportReturn { func: 0, results: vec![Value::I32(1)] },
            Event::ImportReturn { func: 2, results: vec![Value::I32(2)] },
            Event::ImportReturn { func: 1, results: vec![Value::I32(7)] },
            returned(vec![]),
            Event::MemoryMax { memory: 0, pages: 2 },
        ];
        let replay = reduce_with(&trace(events), &|func| if func == 2 { 0 } else { func }).unwrap();
        let results = |func| -> Vec<Outcome> {
            replay.imports[&func].iter().map(|call| call.outcome.clone()).collect()
        };
        assert_eq!(results(0), [Outcome::Return(vec![Value::I32(1)]), Outcome::Return(vec![Value::I32(2)])]);
        assert_eq!(results(1), [Outcome::Return(vec![Value::I32(7)])]);
        assert!(!replay.imports.contains_key(&2));
        assert_eq!(replay.memory_max[&0], 2);
    }

    #[test]
    fn a_nested_trap_the_host_survived_is_a_warning() {
        let replay = reduce(&trace(vec![
            call(2, "main"),
            Event::ImportCall { func: 0, args: vec![] },
            call(3, "callback"),
            Event::ExportTrap { message: "oops".into() },
            Event::ImportReturn { func: 0, results: vec![] },
            returned(vec![]),
        ]))
        .unwrap();
        assert_eq!(replay.warnings.len(), 1);
        assert!(replay.warnings[0].starts_with("event 3:"), "{}", replay.warnings[0]);
    }

    #[test]
    fn calls_that_do_not_nest_are_errors_naming_the_event() {
        let error = reduce(&trace(vec![call(0, "a"), returned(vec![]), returned(vec![])])).unwrap_err();
        assert_eq!(error.to_string(), "event 2 (export_return): no export call is running");
        let error = reduce(&trace(vec![
            call(0, "a"),
            Event::ImportCall { func: 1, args: vec![] },
            Event::ImportReturn { func: 2, results: vec![] },
        ]))
        .unwrap_err();
        assert_eq!(error.index, 2);
        let error = reduce(&trace(vec![Event::End { naive_events: 0 }, call(0, "a")])).unwrap_err();
        assert_eq!(error.to_string(), "event 1 (export_call): event after `end`");
    }
}
