//! Regression: a branch out of deeply nested blocks once got one end-hook call per block at
//! every branch, which is quadratic; state machines (tree-sitter lexers, Go's resumption
//! switches) then exceeded the engines' function size limit. Code and module info must grow
//! linearly with the nesting depth.

use wasabi::HookSet;

fn nested(depth: usize, branches: usize) -> Vec<u8> {
    let mut wat = String::from("(module (func (param i32)");
    wat.push_str(&"(block ".repeat(depth));
    // Each pair sits in its own block, so that the code after the br_table is reachable.
    for _ in 0..branches {
        wat.push_str(&format!("(block (br_if {depth} (local.get 0)) (br_table 0 {depth} (local.get 0))) "));
    }
    wat.push_str(&")".repeat(depth));
    wat.push_str("))");
    wat::parse_str(&wat).unwrap()
}

fn instrumented_size(depth: usize, branches: usize) -> (usize, usize) {
    let instrumented = wasabi::instrument(&nested(depth, branches), &HookSet::all()).unwrap();
    let wasm = instrumented.wasm();
    wasabi_wasm::validate(&wasm, wasabi_wasm::supported_features()).unwrap();
    (wasm.len(), wasabi::js::registration(&instrumented).len())
}

/// What 100 more branches cost, at a nesting depth.
fn cost_of_branches(depth: usize) -> (usize, usize) {
    let (code, js) = instrumented_size(depth, 100);
    let (more_code, more_js) = instrumented_size(depth, 200);
    (more_code - code, more_js - js)
}

#[test]
fn a_branch_costs_the_same_at_any_nesting_depth() {
    let (shallow_code, shallow_js) = cost_of_branches(50);
    let (deep_code, deep_js) = cost_of_branches(400);
    assert!(
        deep_code * 2 < shallow_code * 3,
        "code per branch: {deep_code} at depth 400, {shallow_code} at 50"
    );
    assert!(deep_js * 2 < shallow_js * 3, "info per branch: {deep_js} at depth 400, {shallow_js} at 50");
}
