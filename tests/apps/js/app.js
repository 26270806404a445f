// A WASI 0.2 command in JavaScript (componentize-js): reads its arguments
// and environment, prints what it found and some computed values, so the
// engines running it can be compared line by line.
import { getArguments, getEnvironment } from 'wasi:cli/environment@0.2.12';

function fib(n) {
  let a = 0n, b = 1n;
  for (let i = 0; i < n; i++) [a, b] = [b, a + b];
  return a;
}

export const run = {
  run() {
    const args = getArguments();
    const env = getEnvironment().filter(([k]) => k.startsWith('APP_')).sort();
    console.log(`args: ${JSON.stringify(args.slice(1))}`);
    console.log(`env: ${JSON.stringify(env)}`);
    console.log(`fib(90): ${fib(90)}`);
    const words = ['zeta', 'alpha', 'Émile', 'straße', 'mu'];
    console.log(`sorted: ${words.sort().join(' ')}`);
    console.log(`upper: ${words.map((w) => w.toUpperCase()).join(' ')}`);
    const t0 = Date.now();
    console.log(`date after 2020: ${t0 > Date.UTC(2020, 0, 1)}`);
    const r = new Uint8Array(16);
    crypto.getRandomValues(r);
    console.log(`random bytes: ${r.length}`);
    console.log(`json: ${JSON.stringify({ a: [1, 2, { b: 'c' }], d: null })}`);
    if (env.some(([k]) => k === 'APP_FAIL')) {
      console.error('failing on purpose');
      throw new Error('failing on purpose');
    }
    console.log('done');
  },
};
