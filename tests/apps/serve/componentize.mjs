// Makes a wasi:http/proxy component of a JavaScript fetch-event handler:
// `node componentize.mjs SOURCE.js WIT-DIR OUT.wasm`, run from where
// componentize-js is installed (NODE_PATH).
import { componentize } from '@bytecodealliance/componentize-js';
import { writeFile } from 'node:fs/promises';

const [sourcePath, witPath, out] = process.argv.slice(2);
const { component } = await componentize({ sourcePath, witPath, worldName: 'handler' });
await writeFile(out, component);
