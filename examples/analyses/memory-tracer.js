// Memory tracer: every load, store and bulk memory operation, summarized, plus the first
// accesses in order.
//
//   wasabi run --hooks=load,store,memory_fill,memory_copy,memory_init,atomic_rmw,atomic_cmpxchg --result memory.json --analysis examples/analyses/memory-tracer.js -- node app.mjs
//
// Wasabi.analysisResult() returns {loads, stores, bytesLoaded, bytesStored, lowest, highest,
// byOp: {op: count}, pages: {page: {loads, stores}} (64 KiB pages), bulk: {fill, copy, init:
// {count, bytes}}, trace: [[kind, func, instr, address, size], ...] (the first TRACE_LIMIT)}.
// Addresses are effective addresses (base + offset) in the accessed memory.
(function () {
  "use strict";
  const TRACE_LIMIT = 1000;
  const PAGE = 65536;
  const r = {
    loads: 0, stores: 0, bytesLoaded: 0, bytesStored: 0, lowest: null, highest: null,
    byOp: {}, pages: {}, bulk: { fill: { count: 0, bytes: 0 }, copy: { count: 0, bytes: 0 }, init: { count: 0, bytes: 0 } },
    trace: [],
  };

  // Access width in bytes from the mnemonic, e.g. i64.load16_s -> 2, v128.load8x8_s -> 8.
  const sizes = new Map();
  function sizeOf(op) {
    let size = sizes.get(op);
    if (size === undefined) {
      const m = /(?:load|store|rmw|cmpxchg)(8|16|32|64)(x\d+)?/.exec(op);
      size = m ? (m[2] ? 8 : Number(m[1]) / 8) : /^(?:i64|f64)/.test(op) ? 8 : op.startsWith("v128") ? 16 : 4;
      sizes.set(op, size);
    }
    return size;
  }

  function access(kind, loc, op, memarg) {
    const address = memarg.addr + memarg.offset;
    const size = sizeOf(op);
    r.byOp[op] = (r.byOp[op] || 0) + 1;
    if (kind === "load") {
      r.loads++;
      r.bytesLoaded += size;
    } else {
      r.stores++;
      r.bytesStored += size;
    }
    if (r.lowest === null || address < r.lowest) r.lowest = address;
    if (r.highest === null || address + size - 1 > r.highest) r.highest = address + size - 1;
    const page = Math.floor(address / PAGE);
    const p = r.pages[page] || (r.pages[page] = { loads: 0, stores: 0 });
    if (kind === "load") p.loads++;
    else p.stores++;
    if (r.trace.length < TRACE_LIMIT) r.trace.push([kind, loc.func, loc.instr, address, size]);
  }

  function bulk(kind, length) {
    r.bulk[kind].count++;
    r.bulk[kind].bytes += length >>> 0;
  }

  Wasabi.analysisResult = () => r;

  Wasabi.analysis = {
    load: (loc, op, memarg) => access("load", loc, op, memarg),
    store: (loc, op, memarg) => access("store", loc, op, memarg),
    // Read-modify-write atomics read and write their address; cmpxchg writes only on a match.
    atomic_rmw(loc, op, memarg) {
      access("load", loc, op, memarg);
      access("store", loc, op, memarg);
    },
    atomic_cmpxchg(loc, op, memarg, expected, replacement, old) {
      access("load", loc, op, memarg);
      if (old === expected) access("store", loc, op, memarg);
    },
    memory_fill: (loc, dest, value, length) => bulk("fill", length),
    memory_copy: (loc, dest, src, length) => bulk("copy", length),
    memory_init: (loc, dest, src, length) => bulk("init", length),
  };
})();
