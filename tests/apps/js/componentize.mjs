// Makes a WASI 0.2 command of a JavaScript module with componentize-js:
// `node componentize.mjs SOURCE.js WIT-DIR WORLD OUT.wasm`, run from where
// componentize-js is installed (NODE_PATH).
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [sourcePath, witPath, worldName, out] = process.argv.slice(2);
// No `wasi:http`: a command needs only `wasi:cli/command`'s imports.
const { component } = await componentize({
  sourcePath,
  witPath,
  worldName,
  disableFeatures: ['http', 'fetch-event'],
});
await writeFile(out, component);
