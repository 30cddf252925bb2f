// Runs every benchmark of an R3 suite (folders with metadata.json and replay.wasm, made by
// `r3 bench`) on every engine found, and prints a table of run times (seconds, one run each
// unless --repeat), FAIL, or n/a where the engine lacks a Wasm feature the benchmark needs
// (metadata `features`; each probed once with `.probes/<feature>.wasm`). Needs node >= 20 to
// drive; the engines:
//   node      this node, through replay-node.mjs
//   jsc       JavaScriptCore's shell on PATH (apt libjavascriptcoregtk-4.0-bin), replay-shell.js
//   wasmi     `wasmi` on PATH or in ~/.cargo/bin (cargo install wasmi_cli), runs _start
//   wasmtime  the `wasmtime` CLI on PATH, runs _start
//   r3        `r3 run` ($R3, or r3 on PATH): embedded wasmtime, checks every segment
// More node-compatible engines: --node NAME=PATH (e.g. --node node22=$(npx -y node@22 -p process.execPath)).
//
//   node run.mjs [--only ENGINE,...] [--node NAME=PATH]... [--repeat N] [--min-engines N] [--json FILE]
//
// Exit status 0 iff at least --min-engines engines (default: every engine found) ran every
// benchmark as recorded (n/a ones aside).

import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const suite = dirname(fileURLToPath(import.meta.url));

function parseArgs(argv) {
  const options = { only: null, nodes: [], repeat: 1, minEngines: null, json: null };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case "--only": options.only = value().split(","); break;
      case "--node": {
        const [name, path] = value().split("=");
        if (!name || !path) throw new Error("--node takes NAME=PATH");
        options.nodes.push({ name, path });
        break;
      }
      case "--repeat": options.repeat = positive(value(), "--repeat"); break;
      case "--min-engines": options.minEngines = positive(value(), "--min-engines"); break;
      case "--json": options.json = value(); break;
      default: throw new Error(`unknown argument ${argv[i]}; see the comment at the top of run.mjs`);
    }
  }
  return options;
}

function positive(text, flag) {
  const number = Number(text);
  if (!Number.isInteger(number) || number < 1) throw new Error(`${flag} takes a positive integer, not ${text}`);
  return number;
}

/** The first of `names` that is an executable file on PATH (or an absolute path that exists). */
function which(...names) {
  const dirs = (process.env.PATH || "").split(delimiter);
  for (const name of names) {
    if (name.startsWith("/")) {
      if (existsSync(name)) return name;
      continue;
    }
    for (const dir of dirs) {
      const path = join(dir, name);
      if (dir && existsSync(path)) return path;
    }
  }
  return null;
}

/**
 * Each engine: how to run a benchmark and whether it ran as recorded. Engines that can only
 * call `_start` see a trap when a recorded segment did not return.
 */
function engines(options) {
  const exitedAsExpected = (bench, result) => (result.status === 0) === bench.expected.all_return;
  const nodeEngine = (name, path) => ({
    name,
    command: (wasm) => [path, [join(suite, "replay-node.mjs"), wasm]],
    passed: (bench, result) => result.status === 0,
  });
  const found = [nodeEngine("node", process.execPath), ...options.nodes.map(({ name, path }) => nodeEngine(name, path))];
  const jsc = which("jsc");
  if (jsc) {
    found.push({
      name: "jsc",
      command: (wasm) => [jsc, [join(suite, "replay-shell.js"), "--", wasm]],
      passed: (bench, result) => result.stdout.trim().split("\n").pop() === "r3: replay ok",
    });
  }
  const wasmi = which("wasmi", join(homedir(), ".cargo", "bin", "wasmi"));
  if (wasmi) found.push({ name: "wasmi", command: (wasm) => [wasmi, [wasm]], passed: exitedAsExpected });
  const wasmtime = which("wasmtime");
  if (wasmtime) found.push({ name: "wasmtime", command: (wasm) => [wasmtime, ["run", wasm]], passed: exitedAsExpected });
  const r3 = which(...[process.env.R3, "r3"].filter(Boolean));
  if (r3) {
    found.push({ name: "r3", command: (wasm) => [r3, ["run", wasm]], passed: (bench, result) => result.status === 0 });
  }
  return options.only ? found.filter((engine) => options.only.includes(engine.name)) : found;
}

/** Every benchmark below the suite folder, by name. */
function benchmarks(dir = suite) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
    const path = join(dir, entry.name);
    const metadata = join(path, "metadata.json");
    if (existsSync(metadata)) {
      found.push({ dir: path, ...JSON.parse(readFileSync(metadata, "utf8")) });
    } else {
      found.push(...benchmarks(path));
    }
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * Whether `engine` has every Wasm feature `bench` needs, by running each feature's probe
 * (written by `r3 bench` to `.probes/<feature>.wasm`) once per engine.
 */
function supports(engine, bench, probed) {
  return (bench.features ?? []).every((feature) => {
    const key = `${engine.name}:${feature}`;
    if (!probed.has(key)) {
      const probe = { dir: join(suite, ".probes"), files: { replay: `${feature}.wasm` }, expected: { all_return: true } };
      probed.set(key, measure(engine, probe, 1) !== null);
    }
    return probed.get(key);
  });
}

/** The median wall time of `repeat` runs in seconds, or null if any run failed. */
function measure(engine, bench, repeat) {
  const times = [];
  for (let i = 0; i < repeat; i++) {
    const [program, args] = engine.command(join(bench.dir, bench.files.replay));
    const start = performance.now();
    const result = spawnSync(program, args, { encoding: "utf8", maxBuffer: 64 << 20 });
    times.push((performance.now() - start) / 1000);
    if (result.error || !engine.passed(bench, result)) return null;
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const found = engines(options);
  const suiteBenchmarks = benchmarks();
  if (suiteBenchmarks.length === 0) throw new Error(`no benchmarks (metadata.json) below ${suite}`);
  const width = Math.max(9, ...suiteBenchmarks.map((bench) => bench.name.length)) + 2;
  const cell = (text) => String(text).padEnd(10);
  console.log("benchmark".padEnd(width) + cell("expected") + found.map((engine) => cell(engine.name)).join(""));
  const results = [];
  const probed = new Map();
  // A time in seconds, null: failed, "n/a": the engine lacks a feature the benchmark needs.
  const run = (engine, bench) => (supports(engine, bench, probed) ? measure(engine, bench, options.repeat) : "n/a");
  const show = (time) => (time === null ? "FAIL" : typeof time === "number" ? time.toFixed(3) : time);
  for (const bench of suiteBenchmarks) {
    const times = Object.fromEntries(found.map((engine) => [engine.name, run(engine, bench)]));
    results.push({ name: bench.name, package: bench.package, expected: bench.expected.wasmtime_seconds, times });
    const row = found.map((engine) => cell(show(times[engine.name])));
    console.log(bench.name.padEnd(width) + cell(bench.expected.wasmtime_seconds.toFixed(3)) + row.join(""));
  }
  const complete = found.filter((engine) => results.every((result) => result.times[engine.name] !== null));
  const passes = found.map((engine) => cell(results.filter((result) => typeof result.times[engine.name] === "number").length));
  console.log(`passed of ${results.length}`.padEnd(width) + cell("") + passes.join(""));
  console.log(`${complete.length} of ${found.length} engines (${found.map((e) => e.name).join(", ")}) ran every benchmark as recorded (n/a: lacks a feature it needs)`);
  if (options.json) {
    writeFileSync(options.json, JSON.stringify({ suite: relative(process.cwd(), suite) || ".", engines: found.map((e) => e.name), results }, null, 2) + "\n");
  }
  return complete.length >= (options.minEngines ?? found.length);
}

try {
  process.exitCode = main() ? 0 : 1;
} catch (error) {
  console.error(`run.mjs: ${error.message}`);
  process.exitCode = 2;
}
