// A JavaScript module made a component of strings.wit by componentize-js
// (StarlingMonkey, SpiderMonkey compiled to wasm) with every WASI feature
// disabled: the component imports nothing.
export function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function reverseWords(s) {
  return s.split(' ').filter((w) => w).reverse().join(' ');
}

export function sum(xs) {
  let t = 0n;
  for (const x of xs) t += BigInt(x);
  return t;
}

export function titleCase(s) {
  return s.replace(/\b([a-z])/g, (c) => c.toUpperCase());
}
