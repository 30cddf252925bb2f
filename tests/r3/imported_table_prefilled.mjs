import { readFileSync } from "node:fs";
const table = new WebAssembly.Table({ element: "externref", initial: 3 }, null);
const tag = { tag: "first" };
table.set(0, tag);
table.set(2, "third");
const env = { table, show: (v) => console.log(v === tag ? "the tag" : String(v)) };
const { instance } = await WebAssembly.instantiate(readFileSync(process.argv[2]), { env });
instance.exports.show_all();
