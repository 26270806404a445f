"""wasi-testsuite adapter for nyash-engine (shaped like the runner's own adapters)."""
import os
import shlex
import subprocess
from typing import Dict, List, Optional, Tuple

NYASH = shlex.split(os.getenv("NYASH_ENGINE", "nyash-engine"), posix=os.name != "nt")


def get_name() -> str:
    return "nyash-engine"


def get_version() -> str:
    result = subprocess.run(NYASH[0:1] + ["--version"], encoding="UTF-8",
                            capture_output=True, check=True)
    return result.stdout.splitlines()[0].split(" ")[1]


def get_wasi_versions() -> List[str]:
    return ["wasm32-wasip1"]


def get_wasi_worlds() -> List[str]:
    return ["wasi:cli/command"]


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
    argv += [test_path]
    argv += args
    return argv
