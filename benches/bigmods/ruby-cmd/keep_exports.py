#!/usr/bin/env python3
# Used by benches/bigmods/make_ruby_cmd.sh to drop the merged module's exports but
# `memory` and `_start`, so the result is a plain WASI command.
"""keep_exports.py IN OUT NAME... : rewrite the export section to keep only the named exports (nothing else changes)."""
import sys
def leb(b, i):
    r = s = 0
    while True:
        x = b[i]; i += 1; r |= (x & 0x7f) << s; s += 7
        if x < 0x80: return r, i
def uleb(n):
    out = bytearray()
    while True:
        x = n & 0x7f; n >>= 7
        if n: out.append(x | 0x80)
        else: out.append(x); return bytes(out)
src, dst, keep = sys.argv[1], sys.argv[2], set(sys.argv[3:])
b = open(src, 'rb').read(); out = bytearray(b[:8]); i = 8
while i < len(b):
    sid = b[i]; sz, j = leb(b, i + 1); end = j + sz
    if sid == 7:
        cnt, k = leb(b, j); items = []
        for _ in range(cnt):
            s = k; n, k = leb(b, k); name = b[k:k+n].decode(); k += n + 1; _, k = leb(b, k)
            if name in keep: items.append(b[s:k])
        body = uleb(len(items)) + b''.join(items)
        out += bytes([7]) + uleb(len(body)) + body
    else:
        out += b[i:end]
    i = end
open(dst, 'wb').write(out)
