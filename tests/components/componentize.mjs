// Makes a component of a JavaScript module with componentize-js, every
// WASI feature disabled: `node componentize.mjs SOURCE.js WIT-DIR WORLD
// OUT.wasm`, run from where componentize-js is installed (NODE_PATH).
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [sourcePath, witPath, worldName, out] = process.argv.slice(2);
const { component, imports } = await componentize({
  sourcePath,
  witPath,
  worldName,
  disableFeatures: ['stdio', 'random', 'clocks', 'http', 'fetch-event'],
});
if (imports.length) {
  console.error(`componentize: ${out} imports ${JSON.stringify(imports)}`);
  process.exit(1);
}
await writeFile(out, component);
