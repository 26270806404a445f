"""A WASI 0.2 command in Python (componentize-py): reads its arguments,
environment, standard input and files beneath its preopened directory,
writes a file there, and prints what it found, so the engines running it
can be compared line by line."""

import hashlib
import os
import sys
import time

from componentize_py_types import Err
from wit_world import exports


class Run(exports.Run):
    def run(self) -> None:
        if os.environ.get("APP_FAIL"):
            print("failing on purpose", file=sys.stderr)
            raise Err(None)
        data = sys.stdin.read()
        print("args:", sys.argv[1:])
        print("env:", sorted(k for k in os.environ if k.startswith("APP_")))
        print("APP_GREETING:", os.environ.get("APP_GREETING"))
        words = data.split()
        print("stdin:", len(data), "chars,", len(words), "words")
        print("stdin sha256:", hashlib.sha256(data.encode()).hexdigest())
        print("upper:", " ".join(w.upper() for w in words[:5]))
        for name in sorted(os.listdir("/data")):
            st = os.stat(os.path.join("/data", name))
            kind = "dir" if os.path.isdir(os.path.join("/data", name)) else "file"
            print("entry:", name, kind, st.st_size if kind == "file" else "-")
        with open("/data/greeting.txt") as f:
            print("greeting:", f.read().strip())
        with open("/data/out/result.txt", "w") as f:
            f.write("".join(reversed(data)))
        with open("/data/out/result.txt") as f:
            print("wrote back:", len(f.read()), "chars")
        try:
            open("/data/missing.txt")
        except FileNotFoundError as e:
            print("missing:", type(e).__name__)
        try:
            os.listdir("/data/../..")
            print("escape: listed")
        except OSError as e:
            print("escape:", type(e).__name__)
        t0 = time.monotonic()
        time.sleep(0.05)
        print("slept at least 50 ms:", time.monotonic() - t0 >= 0.05)
        print("wall clock after 2020:", time.time() > 1577836800)
        print("random bytes:", len(os.urandom(16)))
        # Under 64 KiB: under wasmtime 48 (whose stdout accepts 64 KiB per
        # write; ours accepts all of it) a 100,000-character line comes out
        # cut at 65,540 bytes, so this program loses the rest of a write its
        # stream takes only in part; a longer line would differ for that.
        sys.stdout.write("x" * 60000 + "\n")
        print("done")
