"""Real servers for the tests that need one on a loopback port: a free port, and
`stridelab serve` started, waited for (``/healthz``) and stopped, its output in a log file
(a pipe nobody reads would stall a chatty server)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_health(base: str, proc: subprocess.Popen[str], log: Path,
                    timeout_s: float = 60.0) -> None:
    """Until ``base``/healthz answers 200; fails with the server's output if it exits."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited ({proc.returncode}): {log.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server did not answer /healthz within {timeout_s:.0f} s: "
                f"{log.read_text()[-4000:]}")


@contextmanager
def serve(command: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """Run ``command --port N`` (``stridelab serve``) until the block ends; its base URL."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for_health(base, proc, log)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)
