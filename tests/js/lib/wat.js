// Compiles .wat text for the tests with wabt's JS build (the npm package "wabt", pinned in
// ../package-lock.json). It is installed on first use into <repo>/target/js-tests, which git
// ignores, so the tests need no setup step; test files run in parallel processes, hence the lock.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { execFileSync } = require("node:child_process");

const testsDir = path.resolve(__dirname, "..");
const repo = path.resolve(testsDir, "../..");
const depsDir = path.join(repo, "target", "js-tests");
const stamp = path.join(depsDir, ".installed");
const lockDir = path.join(depsDir, ".lock");
const lockFile = path.join(testsDir, "package-lock.json");

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function installed() {
  try {
    return fs.readFileSync(stamp, "utf8") === fs.readFileSync(lockFile, "utf8");
  } catch {
    return false;
  }
}

function ensureDeps() {
  if (installed()) return;
  fs.mkdirSync(depsDir, { recursive: true });
  for (const deadline = Date.now() + 5 * 60_000; ;) {
    try {
      fs.mkdirSync(lockDir);
      break;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
      if (installed()) return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockDir}; remove it if stale`);
      sleep(200);
    }
  }
  try {
    if (installed()) return;
    fs.copyFileSync(path.join(testsDir, "package.json"), path.join(depsDir, "package.json"));
    fs.copyFileSync(lockFile, path.join(depsDir, "package-lock.json"));
    execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: depsDir, stdio: ["ignore", "ignore", "inherit"],
    });
    fs.copyFileSync(lockFile, stamp);
  } finally {
    fs.rmdirSync(lockDir);
  }
}

let wabtPromise;
function wabt() {
  if (wabtPromise === undefined) {
    ensureDeps();
    wabtPromise = require(path.join(depsDir, "node_modules", "wabt"))();
  }
  return wabtPromise;
}

// multi_memory: hand-written r3-instrumented modules have a shadow memory.
const FEATURES = {
  annotations: true, simd: true, reference_types: true, bulk_memory: true,
  multi_value: true, threads: true, sat_float_to_int: true, sign_extension: true, multi_memory: true,
};

/** .wat text -> Uint8Array of the binary module. `(@custom "name" "content")` is supported. */
async function wat(text) {
  const w = await wabt();
  const module = w.parseWat("test.wat", text, FEATURES);
  try {
    module.resolveNames();
    module.validate(FEATURES);
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

module.exports = { wat, repo };
