//! `__r3.sync(addr, offset, len)`: the module is about to read bytes of memory 0 of which some
//! differ from its shadow, i.e. the host wrote them. The recorder takes the whole 4 KiB
//! neighbourhood along (host writes are usually larger than one load, and every byte taken now
//! saves a later sync call) and records its runs of changed bytes in one event.
//!
//! Runs are never merged across equal bytes: an equal byte may be one the module wrote after
//! the host last had control (over a value it read before), and a replay applies the
//! `memory_write` at the end of that host interval, where the byte must still hold its old
//! value (docs/trace-format.md, "Host changes").

use std::ops::Range;

/// Memory is compared in aligned windows of this size around a read.
pub const WINDOW: u64 = 4096;

/// The aligned window(s) covering `len` bytes at `addr + offset`, clipped to `limit` bytes;
/// `None` when nothing of it is in bounds (the module then traps on its own).
pub fn window(addr: i32, offset: i32, len: i32, limit: u64) -> Option<Range<u64>> {
    let ea = addr as u32 as u64 + offset as u32 as u64;
    let start = ea - ea % WINDOW;
    let last = ea + len as u32 as u64;
    let end = last.next_multiple_of(WINDOW).min(limit);
    (start < end).then_some(start..end)
}

/// The maximal runs of bytes where `memory` and `shadow` differ, in ascending order.
pub fn differing_runs(memory: &[u8], shadow: &[u8]) -> Vec<Range<usize>> {
    let differs = |i: usize| memory[i] != shadow[i];
    let len = memory.len().min(shadow.len());
    let mut runs: Vec<Range<usize>> = Vec::new();
    let mut i = first_difference(memory, shadow, 0);
    while i < len {
        let mut end = i + 1;
        while end < len && differs(end) {
            end += 1;
        }
        runs.push(i..end);
        i = first_difference(memory, shadow, end);
    }
    runs
}

/// The first index from `from` where the slices differ (their common length if none), skipping
/// equal stretches 8 bytes at a time.
fn first_difference(memory: &[u8], shadow: &[u8], from: usize) -> usize {
    let len = memory.len().min(shadow.len());
    let mut i = from;
    while i + 8 <= len && memory[i..i + 8] == shadow[i..i + 8] {
        i += 8;
    }
    while i < len && memory[i] == shadow[i] {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(changed: &[usize], len: usize) -> Vec<Range<usize>> {
        let shadow = vec![0u8; len];
        let mut memory = shadow.clone();
        for &i in changed {
            memory[i] = 1;
        }
        differing_runs(&memory, &shadow)
    }

    #[test]
    fn equal_memory_has_no_runs() {
        assert!(runs(&[], 100).is_empty());
    }

    #[test]
    fn one_equal_byte_separates_runs() {
        // The module may have written the equal byte after the host last ran (shiki's onig.wasm:
        // a malloc chunk header between bytes of a stale host memcpy): it is no host change.
        assert_eq!(runs(&[3, 4, 6, 12, 13, 14, 21], 64), vec![3..5, 6..7, 12..15, 21..22]);
    }

    #[test]
    fn runs_reach_the_ends() {
        assert_eq!(runs(&[0, 63], 64), vec![0..1, 63..64]);
        assert_eq!(runs(&(0..64).collect::<Vec<_>>(), 64), vec![0..64]);
    }

    #[test]
    fn windows_are_aligned_and_clipped() {
        assert_eq!(window(4095, 0, 2, 65536), Some(0..8192));
        assert_eq!(window(-1, 1, 1, 1 << 40), Some(4294967296..4294971392));
        assert_eq!(window(100, 0, 4, 50), Some(0..50));
        assert_eq!(window(70000, 0, 4, 65536), None);
        assert_eq!(window(8192, 0, 0, 65536), None);
    }
}
