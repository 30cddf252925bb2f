// Dynamic call graph: which function called which, how often, directly or via call_indirect.
//
//   wasabi run --hooks=call_pre --result calls.json --analysis examples/analyses/call-graph.js -- node app.mjs
//
// Wasabi.analysisResult() returns {edges: [{caller, callee, direct, indirect}, ...], dot}, with
// functions named by export, else import ("module.name"), else index; `dot` is Graphviz input.
// A callee is "?" where the target could not be resolved (call_indirect during the start
// function, before the module's exports exist). Names come from Wasabi.module, the most
// recently instantiated module.
(function () {
  "use strict";
  const UNRESOLVED = 2 ** 32 - 1;
  // One number per edge keeps the hot path free of string building.
  const direct = new Map();
  const indirect = new Map();
  const add = (counts, key) => counts.set(key, (counts.get(key) || 0) + 1);

  function name(func) {
    if (func === UNRESOLVED) return "?";
    const f = Wasabi.module && Wasabi.module.info.functions[func];
    if (f === undefined) return String(func);
    if (f.export && f.export.length > 0) return f.export[0];
    if (f.import) return f.import.join(".");
    return String(func);
  }

  Wasabi.analysisResult = function () {
    const edges = new Map();
    for (const [counts, kind] of [[direct, "direct"], [indirect, "indirect"]]) {
      for (const [key, n] of counts) {
        const edge = edges.get(key) || { caller: name(Math.floor(key / 2 ** 32)), callee: name(key % 2 ** 32), direct: 0, indirect: 0 };
        edge[kind] += n;
        edges.set(key, edge);
      }
    }
    const list = [...edges.values()].sort((a, b) => b.direct + b.indirect - a.direct - a.indirect);
    const quote = (s) => JSON.stringify(s);
    const dot = "digraph calls {\n" + list.map((e) =>
      `  ${quote(e.caller)} -> ${quote(e.callee)} [label=${quote(String(e.direct + e.indirect))}${e.indirect ? ", style=dashed" : ""}];\n`).join("") + "}\n";
    return { edges: list, dot };
  };

  Wasabi.analysis = {
    call_pre(loc, func, args, elem) {
      const key = loc.func * 2 ** 32 + (func === undefined ? UNRESOLVED : func);
      add(elem === undefined ? direct : indirect, key);
    },
  };
})();
