// Instruction and branch coverage: which instructions ran, and which way each if, br_if and
// br_table went.
//
//   wasabi run --result coverage.json --analysis examples/analyses/coverage.js -- node app.mjs
//
// Wasabi.analysisResult() returns {covered, total, percent, functions: [{func, name, covered,
// total}], branches: [{func, instr, kind, taken}]}: `taken` lists the outcomes seen (true/false
// for if and br_if, table indices for br_table). Counts use the instruction counts of
// Wasabi.module.info, the most recently instantiated module.
(function () {
  "use strict";
  const hit = []; // function index -> Uint8Array, one flag per instruction
  const branches = new Map(); // "func:instr" -> {func, instr, kind, taken: Set}

  function mark(loc) {
    if (loc.instr < 0) return; // function begin and implicit return are no instructions
    let flags = hit[loc.func];
    if (flags === undefined) {
      const f = Wasabi.module.info.functions[loc.func];
      flags = hit[loc.func] = new Uint8Array(Math.max(f ? f.instrCount : 0, loc.instr + 1));
    } else if (loc.instr >= flags.length) {
      const grown = new Uint8Array(loc.instr + 1);
      grown.set(flags);
      flags = hit[loc.func] = grown;
    }
    flags[loc.instr] = 1;
  }

  function branch(loc, kind, outcome) {
    mark(loc);
    const key = `${loc.func}:${loc.instr}`;
    let b = branches.get(key);
    if (b === undefined) branches.set(key, (b = { func: loc.func, instr: loc.instr, kind, taken: new Set() }));
    b.taken.add(outcome);
  }

  Wasabi.analysisResult = function () {
    const functions = Wasabi.module.info.functions;
    const perFunction = [];
    let covered = 0;
    let total = 0;
    functions.forEach((f, func) => {
      if (f.import) return;
      const flags = hit[func] || new Uint8Array(0);
      const n = flags.reduce((sum, x) => sum + x, 0);
      const name = f.export && f.export.length > 0 ? f.export[0] : String(func);
      perFunction.push({ func, name, covered: n, total: f.instrCount });
      covered += n;
      total += f.instrCount;
    });
    return {
      covered,
      total,
      percent: total === 0 ? 100 : Math.round((covered / total) * 10000) / 100,
      functions: perFunction,
      branches: [...branches.values()].map((b) => ({ ...b, taken: [...b.taken].sort() })),
    };
  };

  // Every hook marks its location; the branching ones also record their outcome.
  const analysis = {};
  for (const hook of Wasabi.HOOK_NAMES) analysis[hook] = mark;
  analysis.if_ = (loc, condition) => branch(loc, "if", condition);
  analysis.br_if = (loc, target, condition) => branch(loc, "br_if", condition);
  analysis.br_table = (loc, table, defaultTarget, index) =>
    branch(loc, "br_table", (index >>> 0) < table.length ? index >>> 0 : "default");
  Wasabi.analysis = analysis;
})();
