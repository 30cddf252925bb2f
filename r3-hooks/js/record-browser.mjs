/*
 * `r3 record --browser`: records every WebAssembly instance a web page creates in headless
 * Chromium. Needs node >= 22 (its global WebSocket speaks CDP). Configured by the environment:
 *   R3_PAGE_FILE | R3_PAGE_URL   an HTML file (its directory is served over http) or a URL
 *   R3_TRACE_DIR     where traces and original modules go
 *   R3_CHROMIUM      the chromium executable
 *   R3_TIMEOUT       seconds the page gets to call R3.done()
 *   R3_KEEP_RETURNS  1: every export_return in the traces, also those an export_call implies
 *   WASABI_BIN, WASABI_BIN_ARGS, WASABI_CACHE   the instrumenter, as for preload.cjs
 * This file's directory also holds recorder.js, compile-patch.cjs, browser-runtime.js (the page
 * side) and instrumenter.cjs. Exit status: 0 recorded, 1 the page failed (uncaught exception,
 * failed instrumentation), 2 the recording could not run (nor the page load).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import crypto from "node:crypto";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const { Instrumenter } = createRequire(import.meta.url)("./instrumenter.cjs");
const INSTRUMENT_PATH = "/__r3/instrument";
const CLAIM_PATH = "/__r3/claim";

class Failure extends Error {}

const env = process.env;
const problems = []; // what went wrong in the page, reported at the end

function log(message) {
  process.stderr.write(`r3: ${message}\n`);
}

// ---- the recording server: instruments modules, serves the page's directory

const MIME = {
  ".html": "text/html", ".htm": "text/html", ".js": "text/javascript", ".mjs": "text/javascript",
  ".cjs": "text/javascript", ".json": "application/json", ".wasm": "application/wasm",
  ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain",
};

function startServer(root) {
  const instrumenter = new Instrumenter({
    bin: env.WASABI_BIN,
    binArgs: (env.WASABI_BIN_ARGS || "").split(" ").filter(Boolean),
    hooks: "r3",
    cacheDir: env.WASABI_CACHE,
    // For r3 the generated JS is the recorder itself, which the page has already.
    loadScript: () => {},
  });
  const server = http.createServer((request, response) => {
    // The instrument endpoint is also called from pages of other origins (R3_PAGE_URL).
    response.setHeader("Access-Control-Allow-Origin", "*");
    response.setHeader("Access-Control-Expose-Headers", "X-R3-Sha256");
    response.setHeader("Access-Control-Allow-Private-Network", "true");
    const { pathname } = new URL(request.url, "http://localhost");
    if (request.method === "OPTIONS") return response.writeHead(204).end();
    if (request.method === "POST" && pathname === INSTRUMENT_PATH) return instrument(instrumenter, request, response);
    if (request.method === "POST" && pathname === CLAIM_PATH) return answerClaim(request, response);
    if (request.method === "GET" && root !== undefined) return serveFile(root, pathname, response);
    response.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

// Calls `then` with the request's whole body.
function withBody(request, then) {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => then(Buffer.concat(chunks)));
}

function instrument(instrumenter, request, response) {
  withBody(request, (body) => {
    const bytes = new Uint8Array(body);
    const sha = crypto.createHash("sha256").update(bytes).digest("hex");
    let out;
    try {
      out = instrumenter.instrument(bytes, sha);
    } catch (e) {
      problems.push(e.message);
      log(e.message);
      return response.writeHead(500, { "Content-Type": "text/plain" }).end(e.message);
    }
    if (out === bytes) return response.writeHead(204).end();
    response.writeHead(200, { "Content-Type": "application/wasm", "X-R3-Sha256": sha }).end(out);
  });
}

// Trace names and instance numbers the page's frames and workers claimed: "kind/key" -> content
// (browser-runtime.js, `claimsAt`).
const claims = new Map();

function answerClaim(request, response) {
  withBody(request, (body) => {
    let answer;
    try {
      const { op, kind, key, content } = JSON.parse(body.toString("utf8"));
      const id = `${kind}/${key}`;
      if (op === "claim") {
        answer = { created: !claims.has(id) };
        if (answer.created) claims.set(id, String(content));
      } else if (op === "read") {
        answer = { content: claims.get(id) };
      } else if (op === "give") {
        answer = { given: claims.delete(id) };
      } else {
        throw new Error(`unknown claim operation ${op}`);
      }
    } catch (e) {
      return response.writeHead(400, { "Content-Type": "text/plain" }).end(e.message);
    }
    response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(answer));
  });
}

function serveFile(root, pathname, response) {
  let file;
  try {
    file = path.resolve(root, `.${decodeURIComponent(pathname)}`);
  } catch {
    return response.writeHead(400).end();
  }
  if (file !== root && !file.startsWith(root + path.sep)) return response.writeHead(403).end();
  fs.readFile(file, (error, data) => {
    if (error) return response.writeHead(404, { "Content-Type": "text/plain" }).end(`${pathname}: not found`);
    const type = MIME[path.extname(file).toLowerCase()] || "application/octet-stream";
    response.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store" }).end(data);
  });
}

// ---- chromium and the DevTools protocol

async function launchChromium(profile) {
  const args = [
    "--headless=new", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "--no-first-run",
    "--no-default-browser-check", "--disable-dev-shm-usage", "--disable-gpu", "about:blank",
  ];
  // Chromium refuses to run as root with its sandbox.
  if (process.getuid && process.getuid() === 0) args.unshift("--no-sandbox");
  const child = spawn(env.R3_CHROMIUM, args, { stdio: ["ignore", "ignore", "pipe"] });
  const endpoint = await new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Failure(`chromium did not start within 30 s:\n${output}`)), 30000);
    child.on("error", (e) => reject(new Failure(`cannot start ${env.R3_CHROMIUM}: ${e.message}`)));
    child.on("exit", (code) => reject(new Failure(`chromium exited (${code}) before it listened:\n${output}`)));
    child.stderr.on("data", (chunk) => {
      output += chunk;
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
  child.removeAllListeners("exit");
  child.stderr.resume(); // keeps the pipe drained
  return { child, endpoint };
}

/** A DevTools protocol connection: calls by id, events by method, in flattened sessions. */
class Cdp {
  static async connect(endpoint) {
    const socket = new WebSocket(endpoint);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Failure(`cannot connect to chromium at ${endpoint}`));
    });
    return new Cdp(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    socket.onmessage = (event) => this.receive(JSON.parse(event.data));
    socket.onclose = () => {
      for (const { reject } of this.pending.values()) reject(new Failure("chromium closed the connection"));
    };
  }

  receive(message) {
    if (message.id === undefined) {
      for (const listener of this.listeners.get(message.method) || []) listener(message.params, message.sessionId);
      return;
    }
    const call = this.pending.get(message.id);
    this.pending.delete(message.id);
    if (message.error) call.reject(new Failure(`${call.method}: ${message.error.message}`));
    else call.resolve(message.result);
  }

  send(method, params = {}, sessionId = undefined) {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params, sessionId }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject, method }));
  }

  on(method, listener) {
    if (!this.listeners.has(method)) this.listeners.set(method, []);
    this.listeners.get(method).push(listener);
  }
}

// ---- recording a page

function injectedRuntime(instrumentUrl) {
  const read = (name) => fs.readFileSync(path.join(here, name), "utf8");
  // One function scope: the scripts' top-level names stay out of the page's global scope.
  return `(function () {\n${read("recorder.js")}\n${read("compile-patch.cjs")}\n${read("browser-runtime.js")}\n` +
    `installBrowserRecording(${JSON.stringify(instrumentUrl)}, { keepReturns: ${env.R3_KEEP_RETURNS === "1"} });\n})();\n`;
}

function describe(value) {
  return value.value !== undefined ? String(value.value) : value.description || value.type;
}

function relayPage(cdp) {
  cdp.on("Runtime.consoleAPICalled", ({ type, args }) => {
    const text = args.map(describe).join(" ");
    if (type === "error" || type === "warning" || type === "assert") process.stderr.write(`page: ${text}\n`);
    else process.stdout.write(`${text}\n`);
  });
  cdp.on("Runtime.exceptionThrown", ({ exceptionDetails: d }) => {
    const message = d.exception ? describe(d.exception) : d.text;
    problems.push(`uncaught exception in the page: ${message}`);
    log(problems[problems.length - 1]);
  });
}

/** The page's documents (its frames') and dedicated workers: the runtime goes into each before
 * its own scripts run, and the traces of each are collected at the end. */
class Targets {
  constructor(cdp, runtime) {
    this.cdp = cdp;
    this.runtime = runtime;
    // Default execution contexts of the frames' documents: "session context" -> where.
    this.documents = new Map();
    this.workers = new Set(); // their sessions
    const key = (sessionId, contextId) => `${sessionId} ${contextId}`;
    cdp.on("Runtime.executionContextCreated", ({ context }, sessionId) => {
      if (context.auxData && context.auxData.isDefault) {
        this.documents.set(key(sessionId, context.id), { sessionId, contextId: context.id });
      }
    });
    cdp.on("Runtime.executionContextDestroyed", ({ executionContextId }, sessionId) => {
      this.documents.delete(key(sessionId, executionContextId));
    });
    cdp.on("Runtime.executionContextsCleared", (_, sessionId) => {
      for (const [k, place] of this.documents) if (place.sessionId === sessionId) this.documents.delete(k);
    });
    cdp.on("Target.attachedToTarget", (params) => this.attached(params).catch((e) => {
      problems.push(`cannot record in the page's ${params.targetInfo.type} ${params.targetInfo.url}: ${e.message}`);
      log(problems[problems.length - 1]);
    }));
    cdp.on("Target.detachedFromTarget", ({ sessionId }) => this.workers.delete(sessionId));
  }

  /** A session with documents (the page's, an out-of-process frame's): the runtime goes into
   * every new document, and targets they start wait until it is in them too. */
  async documentsOf(sessionId) {
    const send = (method, params) => this.cdp.send(method, params, sessionId);
    await send("Runtime.enable");
    await send("Page.enable");
    await send("Page.addScriptToEvaluateOnNewDocument", { source: this.runtime });
    await this.attachToNew(sessionId);
  }

  attachToNew(sessionId) {
    return this.cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: true, flatten: true }, sessionId);
  }

  async attached({ sessionId, targetInfo }) {
    const send = (method, params) => this.cdp.send(method, params, sessionId);
    if (targetInfo.type === "iframe") {
      await this.documentsOf(sessionId);
    } else if (targetInfo.type === "worker") {
      await send("Runtime.enable");
      const { exceptionDetails } = await send("Runtime.evaluate", { expression: this.runtime });
      if (exceptionDetails) throw new Error(describe(exceptionDetails.exception || {}));
      await this.attachToNew(sessionId);
      this.workers.add(sessionId);
    }
    await send("Runtime.runIfWaitingForDebugger");
  }

  /** The traces of every document and worker still there. */
  async collect() {
    const browser = 'R3[Symbol.for("r3.browser")]';
    const expression = `globalThis.R3 !== undefined && ${browser} !== undefined ? ${browser}.collect() : []`;
    const places = [...this.documents.values(), ...[...this.workers].map((sessionId) => ({ sessionId }))];
    const traces = [];
    for (const { sessionId, contextId } of places) {
      const { result, exceptionDetails } =
        await this.cdp.send("Runtime.evaluate", { expression, contextId, returnByValue: true }, sessionId);
      if (exceptionDetails) throw new Failure(`cannot collect the traces: ${describe(exceptionDetails.exception || {})}`);
      traces.push(...result.value);
    }
    return traces;
  }
}

function withTimeout(promise, ms) {
  let timer;
  const expired = new Promise((resolve) => { timer = setTimeout(() => resolve("timeout"), ms); });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Opens a tab with the runtime injected and loads `pageUrl`; resolves with the tab's
 * `send(method, params)` once the page's load event fired (or `timeoutMs` passed). */
async function openPage(cdp, targets, pageUrl, timeoutMs) {
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  const { sessionId } = await cdp.send("Target.attachToTarget", { targetId, flatten: true });
  const page = (method, params) => cdp.send(method, params, sessionId);
  relayPage(cdp);
  let loaded;
  let navigated = false;
  const load = new Promise((resolve) => { loaded = resolve; });
  // Only the page's load counts, not a late one of the about:blank it replaces.
  cdp.on("Page.loadEventFired", (_, from) => from === sessionId && navigated && loaded());
  await targets.documentsOf(sessionId);
  const navigation = await page("Page.navigate", { url: pageUrl });
  if (navigation.errorText) throw new Failure(`cannot load ${pageUrl}: ${navigation.errorText}`);
  navigated = true;
  if (await withTimeout(load, timeoutMs) === "timeout") log(`${pageUrl} did not finish loading within ${timeoutMs / 1000} s`);
  return page;
}

/** Waits for R3.done() (at most `timeoutMs` since navigating), then takes the traces of the
 * page's frames and workers. */
async function recordPage(cdp, pageUrl, instrumentUrl, timeoutMs) {
  const started = Date.now();
  const targets = new Targets(cdp, injectedRuntime(instrumentUrl));
  const page = await openPage(cdp, targets, pageUrl, timeoutMs);
  const finished = page("Runtime.evaluate", { expression: "R3.finished", awaitPromise: true });
  if (await withTimeout(finished, Math.max(0, timeoutMs - (Date.now() - started))) === "timeout") {
    log(`the page did not call R3.done() within ${timeoutMs / 1000} s; its traces end here`);
  }
  return targets.collect();
}

function writeTraces(dir, traces) {
  fs.mkdirSync(dir, { recursive: true });
  for (const t of traces) {
    fs.writeFileSync(path.join(dir, `${t.name}-${t.instance}.r3`), Buffer.from(t.trace, "base64"));
    if (t.module !== null) fs.writeFileSync(path.join(dir, `${t.name}.wasm`), Buffer.from(t.module, "base64"));
  }
}

// Chromium's helper processes may still write into the profile for a moment after the browser
// process exited: retry, and a profile left behind costs a warning, not the recording.
function removeProfile(profile) {
  try {
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  } catch (e) {
    log(`cannot remove the browser profile ${profile}: ${e.message}`);
  }
}

async function main() {
  if (typeof WebSocket !== "function") throw new Failure(`recording in a browser needs node >= 22, not ${process.version}`);
  const file = env.R3_PAGE_FILE;
  const root = file === undefined ? undefined : path.dirname(path.resolve(file));
  const server = await startServer(root);
  const base = `http://127.0.0.1:${server.address().port}`;
  const pageUrl = file === undefined ? env.R3_PAGE_URL : `${base}/${encodeURIComponent(path.basename(file))}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "r3-chromium-"));
  let chromium;
  try {
    chromium = await launchChromium(profile);
    const cdp = await Cdp.connect(chromium.endpoint);
    const traces = await recordPage(cdp, pageUrl, base + INSTRUMENT_PATH, Number(env.R3_TIMEOUT || 60) * 1000);
    writeTraces(env.R3_TRACE_DIR, traces);
  } finally {
    if (chromium) chromium.child.kill();
    server.close();
    if (chromium && chromium.child.exitCode === null) await new Promise((resolve) => chromium.child.once("exit", resolve));
    removeProfile(profile);
  }
  if (problems.length > 0) log(`the page failed (${problems.length} error(s) above)`);
  return problems.length === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  log(e instanceof Failure ? e.message : e.stack);
  process.exit(2);
});
