"""Start real local servers for tests (the app, an OpenAI-compatible server, Label Studio)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LS_BIN = Path(os.environ.get("UNLEARN_LS_BIN", REPO / ".venv-ls" / "bin" / "label-studio"))
LS_USER, LS_PASSWORD = "admin@example.com", "admin-pass-123"
LS_TOKEN = "0123456789abcdef0123456789abcdef01234567"
KATAN = shutil.which("llm-katan", path=str(Path(sys.executable).parent))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(
    url: str, proc: subprocess.Popen, seconds: float = 90, ok: Callable[[bytes], bool] = bool
) -> None:
    """Poll `url` until it answers with a body `ok` accepts; fail early if the process exits."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"server exited early ({proc.returncode}):\n{out[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if ok(reply.read()):
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up within {seconds:.0f} s")


@contextlib.contextmanager
def running(
    command: list[str], health_url: str, *, env=None, seconds: float = 90, ok=bool
) -> Iterator[subprocess.Popen]:
    """A server process, up and healthy, stopped (and reaped) when the block ends."""
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_until_up(health_url, proc, seconds, ok)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def label_studio_server(data_dir: Path) -> Iterator[str]:
    """A real Label Studio (its own virtual environment, made by `make label-studio`); its URL."""
    port = free_port()
    command = [str(LS_BIN), "start", "--no-browser", "--internal-host", "127.0.0.1"]
    command += ["-p", str(port), "--data-dir", str(data_dir), "--username", LS_USER]
    command += ["--password", LS_PASSWORD, "--user-token", LS_TOKEN, "--enable-legacy-api-token"]
    env = dict(os.environ, LATEST_VERSION_CHECK="false")
    url = f"http://127.0.0.1:{port}"
    with running(command, f"{url}/health", env=env, seconds=240, ok=lambda b: b"UP" in b):
        yield url


def llm_server(*flags: str):
    """An llm-katan server (echo backend: no model, real HTTP and OpenAI wire format); its
    context manager and port."""
    port = free_port()
    command = [KATAN, "--model", "echo", "--name", "gpt-4o", "--backend", "echo"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--disable-dashboard", *flags]
    return running(command, f"http://127.0.0.1:{port}/health", seconds=60), port
