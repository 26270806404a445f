"""wasi-testsuite adapter for nyash-engine running each preview-1 test as a
WASI 0.2 component: the test module is made a component with the standard
preview-1 adapter (``componentize --adapt``; see tests/wasi-adapter.sh),
cached by the module's hash, and run with ``nyash-engine run``. So the
preview-1 suite also tests WASI 0.2's filesystem, clocks, streams and exit.
"""
import hashlib
import os
import subprocess
import sys
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nyash_engine  # noqa: E402  (the module adapter: name, version, argv)

COMPONENTIZE = os.environ["NYASH_COMPONENTIZE"]
ADAPTER = os.environ["NYASH_P1_ADAPTER"]
CACHE = os.environ["NYASH_P2_CACHE"]


def get_name() -> str:
    return "nyash-engine (WASI 0.2, adapted)"


def get_version() -> str:
    return nyash_engine.get_version()


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


def component_of(test_path: str) -> str:
    with open(test_path, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:16]
    # The file keeps its name: tests read it back as argv[0].
    out = os.path.join(CACHE, key, os.path.basename(test_path))
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run([COMPONENTIZE, "--adapt", ADAPTER, test_path, out + ".tmp"], check=True)
        os.replace(out + ".tmp", out)
    return out


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    return nyash_engine.compute_argv(component_of(test_path), args_env_root, proposals,
                                     wasi_world, wasi_version)
