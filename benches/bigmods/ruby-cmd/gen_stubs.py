#!/usr/bin/env python3
# gen_stubs.py IN.wat: writes jshost.wat and cabi.wat into the current directory and prints
# how many functions each has. Used by benches/bigmods/make_ruby_cmd.sh.
"""Generate stub modules for ruby.wasm's non-WASI imports, from `wasm-tools print` output of the ruby module.
rb-js-abi-host: every function traps (the JS bridge is unavailable; only `require "js"` reaches it).
canonical_abi: resource handles are the identity; dropping a JS value is a no-op."""
import re, sys
wat = open(sys.argv[1]).read()
imps = re.findall(r'\(import "(rb-js-abi-host|canonical_abi)" "([^"]*)" \(func \(;\d+;\) \(type \d+\)((?: \(param[^)]*\))?(?: \(result[^)]*\))?)\)\)', wat)
js, ca = [], []
for mod, name, sig in imps:
    if mod == 'rb-js-abi-host':
        js.append(f'  (func (export "{name}"){sig} unreachable)')
    elif name.startswith('resource_drop'):
        ca.append(f'  (func (export "{name}"){sig})')
    else:
        ca.append(f'  (func (export "{name}"){sig} local.get 0)')
open('jshost.wat', 'w').write('(module\n' + '\n'.join(js) + '\n)\n')
open('cabi.wat', 'w').write('(module\n' + '\n'.join(ca) + '\n)\n')
print(len(js), len(ca))
