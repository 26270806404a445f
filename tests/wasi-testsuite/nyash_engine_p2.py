"""wasi-testsuite adapter for nyash-engine running each wasip1 test as a
WASI 0.2 component: the test module wrapped with the standard preview-1
adapter (`wasi_snapshot_preview1.command.wasm`, by `jco new
--wasi-command`, i.e. `wasm-tools component new --adapt`), so its
filesystem, stdio, clocks and exits go through wasi:filesystem, wasi:io
and wasi:cli. The components are cached (by the module's hash) in
NYASH_P2_CACHE; JCO names the jco executable."""
import hashlib
import os
import shlex
import subprocess
from typing import Dict, List, Optional, Tuple

NYASH = shlex.split(os.getenv("NYASH_ENGINE", "nyash-engine"), posix=os.name != "nt")
JCO = os.environ["JCO"]
CACHE = os.environ["NYASH_P2_CACHE"]


def get_name() -> str:
    return "nyash-engine (wasip1 tests as WASI 0.2 components)"


def get_version() -> str:
    result = subprocess.run(NYASH[0:1] + ["--version"], encoding="UTF-8",
                            capture_output=True, check=True)
    return result.stdout.splitlines()[0].split(" ")[1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


def component_of(module: str) -> str:
    """The adapted component of `module`, made once."""
    with open(module, "rb") as f:
        key = hashlib.sha256(f.read()).hexdigest()[:16]
    out = os.path.join(CACHE, f"{os.path.basename(module)}-{key}.wasm")
    if not os.path.exists(out):
        os.makedirs(CACHE, exist_ok=True)
        part = out + ".part"
        subprocess.run([JCO, "new", module, "--wasi-command", "-o", part],
                       check=True, capture_output=True)
        os.replace(part, out)
    return out


def compute_argv(test_path: str,
                 args_env_root: Tuple[List[str], Dict[str, str], Optional[str]],
                 proposals: List[str],
                 wasi_world: str,
                 wasi_version: str) -> List[str]:
    args, env, root = args_env_root
    argv = NYASH + ["run"]
    for k, v in env.items():
        argv += ["--env", f"{k}={v}"]
    if root:
        argv += ["--dir", f"{root}::/"]
    argv += [component_of(test_path)]
    argv += args
    return argv
