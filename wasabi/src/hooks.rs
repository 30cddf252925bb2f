//! The high-level hooks an analysis can implement, as named on the command line
//! (`--hooks=a,b`, `--no-hooks=a,b`) and in the JS API (`Wasabi.analysis`).

use std::fmt;

macro_rules! define_hooks {
    ($($variant:ident = $cli:literal as $js:literal),* $(,)?) => {
        /// One hook of the analysis API.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Hook { $($variant),* }

        impl Hook {
            pub const ALL: &[Hook] = &[$(Hook::$variant),*];

            /// The name on the command line (upstream Wasabi's names).
            pub fn cli_name(self) -> &'static str {
                match self { $(Hook::$variant => $cli),* }
            }

            /// The property of `Wasabi.analysis` that receives this hook.
            pub fn js_name(self) -> &'static str {
                match self { $(Hook::$variant => $js),* }
            }
        }
    };
}

define_hooks! {
    Start = "start" as "start",
    Nop = "nop" as "nop",
    Unreachable = "unreachable" as "unreachable",
    Br = "br" as "br",
    BrIf = "br_if" as "br_if",
    BrTable = "br_table" as "br_table",
    If = "if" as "if_",
    Begin = "begin" as "begin",
    End = "end" as "end",
    CallPre = "call_pre" as "call_pre",
    CallPost = "call_post" as "call_post",
    Return = "return" as "return_",
    Drop = "drop" as "drop",
    Select = "select" as "select",
    Const = "const" as "const_",
    Unary = "unary" as "unary",
    Binary = "binary" as "binary",
    Ternary = "ternary" as "ternary",
    Shuffle = "shuffle" as "shuffle",
    ExtractLane = "extract_lane" as "extract_lane",
    ReplaceLane = "replace_lane" as "replace_lane",
    Load = "load" as "load",
    Store = "store" as "store",
    MemorySize = "memory_size" as "memory_size",
    MemoryGrow = "memory_grow" as "memory_grow",
    MemoryFill = "memory_fill" as "memory_fill",
    MemoryCopy = "memory_copy" as "memory_copy",
    MemoryInit = "memory_init" as "memory_init",
    DataDrop = "data_drop" as "data_drop",
    Local = "local" as "local",
    Global = "global" as "global",
    TableGet = "table_get" as "table_get",
    TableSet = "table_set" as "table_set",
    TableSize = "table_size" as "table_size",
    TableGrow = "table_grow" as "table_grow",
    TableFill = "table_fill" as "table_fill",
    TableCopy = "table_copy" as "table_copy",
    TableInit = "table_init" as "table_init",
    ElemDrop = "elem_drop" as "elem_drop",
    RefNull = "ref_null" as "ref_null",
    RefIsNull = "ref_is_null" as "ref_is_null",
    RefFunc = "ref_func" as "ref_func",
    AtomicRmw = "atomic_rmw" as "atomic_rmw",
    AtomicCmpxchg = "atomic_cmpxchg" as "atomic_cmpxchg",
    AtomicWait = "atomic_wait" as "atomic_wait",
    AtomicNotify = "atomic_notify" as "atomic_notify",
    AtomicFence = "atomic_fence" as "atomic_fence",
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// A name on the command line that is not a hook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown hook `{name}`; valid hooks: {}", valid_names())]
pub struct UnknownHook {
    pub name: String,
}

fn valid_names() -> String {
    let mut names: Vec<&str> = Hook::ALL.iter().map(|hook| hook.cli_name()).collect();
    names.push("call (= call_pre,call_post)");
    names.join(", ")
}

/// Which hooks to instrument for: a bit per hook, since it is asked for every instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HookSet(u64);

const _: () = assert!(Hook::ALL.len() <= 64);

impl HookSet {
    pub fn all() -> Self {
        Hook::ALL.iter().copied().collect()
    }

    pub fn none() -> Self {
        HookSet(0)
    }

    pub fn contains(&self, hook: Hook) -> bool {
        self.0 & (1 << hook as u32) != 0
    }

    pub fn insert(&mut self, hook: Hook) {
        self.0 |= 1 << hook as u32;
    }

    pub fn remove(&mut self, hook: Hook) {
        self.0 &= !(1 << hook as u32);
    }

    /// The hooks in the set, in [`Hook::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = Hook> + '_ {
        Hook::ALL.iter().copied().filter(|&hook| self.contains(hook))
    }

    /// Parses a comma-separated list; upstream's names, `call` for both call hooks, and the JS
    /// names (`if_`, `const_`, `return_`) are accepted.
    pub fn parse_list(list: &str) -> Result<Vec<Hook>, UnknownHook> {
        let mut hooks = Vec::new();
        for name in list.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            if name == "call" {
                hooks.extend([Hook::CallPre, Hook::CallPost]);
                continue;
            }
            let hook = Hook::ALL.iter().find(|hook| hook.cli_name() == name || hook.js_name() == name);
            hooks.push(*hook.ok_or_else(|| UnknownHook { name: name.to_string() })?);
        }
        Ok(hooks)
    }

    /// `--hooks` selects exactly the given hooks; `--no-hooks` removes them from all.
    pub fn from_cli(enabled: Option<&str>, disabled: Option<&str>) -> Result<Self, UnknownHook> {
        let mut set = match enabled {
            Some(list) => Self::parse_list(list)?.into_iter().collect(),
            None => Self::all(),
        };
        if let Some(list) = disabled {
            for hook in Self::parse_list(list)? {
                set.remove(hook);
            }
        }
        Ok(set)
    }
}

impl FromIterator<Hook> for HookSet {
    fn from_iter<I: IntoIterator<Item = Hook>>(iter: I) -> Self {
        let mut set = HookSet::none();
        iter.into_iter().for_each(|hook| set.insert(hook));
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_upstream_and_js_names() {
        let set = HookSet::from_cli(Some("if_,const,call"), None).unwrap();
        assert_eq!(set.iter().collect::<Vec<_>>(), [Hook::If, Hook::CallPre, Hook::CallPost, Hook::Const]);
        let set = HookSet::from_cli(None, Some("local,global")).unwrap();
        assert!(!set.contains(Hook::Local) && set.contains(Hook::Binary));
    }

    #[test]
    fn unknown_hook_lists_the_valid_ones() {
        let error = HookSet::from_cli(Some("binary,bogus"), None).unwrap_err();
        assert_eq!(error.name, "bogus");
        assert!(error.to_string().contains("memory_grow"));
    }
}
