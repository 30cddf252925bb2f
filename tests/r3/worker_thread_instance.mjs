import { readFileSync } from "node:fs";
import { Worker, isMainThread } from "node:worker_threads";

const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]));
const bytes = isMainThread ? [1, 2, 3] : [10, 20];
new Uint8Array(instance.exports.memory.buffer).set(bytes);
const sum = instance.exports.sum(bytes.length);
if (isMainThread) {
  console.log("main", sum);
  // The worker starts after the main thread's instance exists: it gets instance 1.
  const worker = new Worker(new URL(import.meta.url), { argv: [process.argv[2]] });
  worker.on("message", (line) => console.log(line));
  await new Promise((resolve) => worker.on("exit", resolve));
} else {
  const { parentPort } = await import("node:worker_threads");
  parentPort.postMessage(`worker ${sum}`);
}
