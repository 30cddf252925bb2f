//! Per-suite counts, and the failures behind them.

use serde::Serialize;

#[derive(Debug, Default, Serialize)]
pub struct SuiteReport {
    pub suite: String,
    pub scripts: usize,
    pub modules: usize,
    pub modules_failed: usize,
    pub assertions: usize,
    pub assertions_failed: usize,
    pub malformed_rejected: usize,
    pub malformed_accepted: usize,
    /// `module quote` texts that the text parser already refuses: there is no binary to test.
    pub malformed_text_rejected: usize,
    pub invalid_rejected: usize,
    pub invalid_accepted: usize,
    /// Calls of instrumentation hooks (instrument mode), all with checked arguments.
    pub hook_calls: u64,
    /// r3 mode: traces recorded (one per instance), replays whose trace checked equal to the
    /// recorded one (and whose merged replay ran as recorded), and replays that failed.
    pub r3_traces: usize,
    pub r3_replays_checked: usize,
    pub r3_replay_failures: usize,
    /// Failed replays that hit a documented known limit (counted in `r3_replay_failures`, and
    /// as failures, but listed here rather than in `failures`).
    pub r3_known_limits: Vec<String>,
    pub skipped: Vec<Skip>,
    /// `file:line: what went wrong`, in script order.
    pub failures: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Skip {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl SuiteReport {
    pub fn new(suite: String) -> Self {
        SuiteReport { suite, ..SuiteReport::default() }
    }

    pub fn merge(&mut self, other: SuiteReport) {
        self.scripts += other.scripts;
        self.modules += other.modules;
        self.modules_failed += other.modules_failed;
        self.assertions += other.assertions;
        self.assertions_failed += other.assertions_failed;
        self.malformed_rejected += other.malformed_rejected;
        self.malformed_accepted += other.malformed_accepted;
        self.malformed_text_rejected += other.malformed_text_rejected;
        self.invalid_rejected += other.invalid_rejected;
        self.invalid_accepted += other.invalid_accepted;
        self.hook_calls += other.hook_calls;
        self.r3_traces += other.r3_traces;
        self.r3_replays_checked += other.r3_replays_checked;
        self.r3_replay_failures += other.r3_replay_failures;
        self.r3_known_limits.extend(other.r3_known_limits);
        self.skipped.extend(other.skipped);
        self.failures.extend(other.failures);
    }

    pub fn failed(&self) -> usize {
        self.modules_failed
            + self.assertions_failed
            + self.malformed_accepted
            + self.invalid_accepted
            + self.r3_replay_failures
    }

    pub fn passed(&self) -> usize {
        self.modules - self.modules_failed + self.assertions - self.assertions_failed
            + self.malformed_rejected
            + self.malformed_text_rejected
            + self.invalid_rejected
            + self.r3_replays_checked
    }

    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "{}: {} scripts, {} modules ({} failed), {} assertions ({} failed), malformed {} rejected + {} by the text parser / {} accepted, invalid {} rejected / {} accepted, {} skipped",
            self.suite,
            self.scripts,
            self.modules,
            self.modules_failed,
            self.assertions,
            self.assertions_failed,
            self.malformed_rejected,
            self.malformed_text_rejected,
            self.malformed_accepted,
            self.invalid_rejected,
            self.invalid_accepted,
            self.skipped.len(),
        );
        if self.r3_traces > 0 {
            line += &format!(
                ", r3: {} traces, {} replays checked, {} replay failures ({} known limits)",
                self.r3_traces,
                self.r3_replays_checked,
                self.r3_replay_failures,
                self.r3_known_limits.len(),
            );
        }
        line
    }
}

pub struct Report {
    pub suites: Vec<SuiteReport>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &String> {
        self.suites.iter().flat_map(|suite| &suite.failures)
    }

    /// r3 mode: failed replays that hit a documented known limit (also counted as failures).
    pub fn known_limits(&self) -> impl Iterator<Item = &String> {
        self.suites.iter().flat_map(|suite| &suite.r3_known_limits)
    }

    /// (passed, failed) over all suites; skips count as failures so none go unnoticed.
    pub fn totals(&self) -> (usize, usize) {
        let passed = self.suites.iter().map(SuiteReport::passed).sum();
        let failed = self.suites.iter().map(|suite| suite.failed() + suite.skipped.len()).sum();
        (passed, failed)
    }
}
