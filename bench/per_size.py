"""Run a benchmark once per corpus size, each size in its own process so its peak RSS is its own."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def each_size(
    module: str,
    size_flag: str,
    sizes: Sequence[int],
    flags: Sequence[str],
    measure_one: Callable[[int], dict] | None,
) -> None:
    """With `measure_one` (the child's part, given --single): measure sizes[0] and print its
    JSON line. Without: start `python -m module --single SIZE_FLAG n FLAGS` per size, print each
    line as it comes."""
    if measure_one is not None:
        print(json.dumps(measure_one(sizes[0])))
        return
    for n in sizes:
        cmd = [sys.executable, "-m", module, "--single", size_flag, str(n), *flags]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
        print(done.stdout.strip(), flush=True)
