// Runs one export of a wasm module in V8 and prints one JSON line:
//   node run.mjs FILE.wasm EXPORT ARG
// {"result":"<decimal>","compile_ms":..,"run_ms":..,"max_rss_kb":..}
// compile_ms: `new WebAssembly.Module` + instantiation; run_ms: the export
// call alone (performance.now()); max_rss_kb: this process's peak resident
// set (getrusage's ru_maxrss) when the call has returned. i64 results come
// back as BigInt; both kinds print as signed decimals.
import { readFileSync } from "node:fs";

const [file, name, arg] = process.argv.slice(2);
if (!file || !name || arg === undefined) {
  console.error("usage: node run.mjs FILE.wasm EXPORT ARG");
  process.exit(2);
}
const bytes = readFileSync(file);
const t0 = performance.now();
const module = new WebAssembly.Module(bytes);
const instance = new WebAssembly.Instance(module, {});
const t1 = performance.now();
const result = instance.exports[name](Number(arg));
const t2 = performance.now();
console.log(
  JSON.stringify({
    result: String(result),
    compile_ms: t1 - t0,
    run_ms: t2 - t1,
    max_rss_kb: process.resourceUsage().maxRSS,
  }),
);
