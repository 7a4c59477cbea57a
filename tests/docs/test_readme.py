"""The README's walk-through works as pasted.

Goal: the "Try it" block of README.md runs, unchanged, against what ``make run`` starts
(``zeropools demo``) on a fresh machine: a partner is created and funded, a quote executed and
settled, the ledger read, the sample statement imported and ``verify`` passes; the port is
changed the way the README says (``ZEROPOOLS_PORT``).
Method: ``zeropools demo`` in a subprocess whose working directory is a fresh temporary folder
with the repository's ``.venv`` and ``docs`` linked in (so ``./var/zeropools.db`` is new), on a
free port; the block run by ``bash -e`` in that folder; its output checked for each step.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent
STARTUP_S = 120.0  # a bound against a hang on a loaded machine, not a timing claim
SCRIPT_TIMEOUT_S = 120


def _try_it_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Try it", 1)[1]
    found = re.search(r"```sh\n(.*?)```", section, re.S)
    assert found, "no sh block under '## Try it'"
    return found.group(1)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_the_try_it_block_runs_as_pasted(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(VENV)
    (tmp_path / "docs").symlink_to(REPO / "docs")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROPOOLS_")}
    env["ZEROPOOLS_PORT"] = str(port)
    log = tmp_path / "demo.log"
    with log.open("wb") as sink:
        demo = subprocess.Popen(
            [str(tmp_path / ".venv" / "bin" / "zeropools"), "demo"],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert demo.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)

        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", _try_it_block()],
            cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=SCRIPT_TIMEOUT_S, check=False,
        )  # fmt: skip
    finally:
        demo.terminate()
        demo.wait(timeout=10)

    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert '"status":"credited"' in out, out
    assert '"available":"1000.00"' in out, out
    assert '"status":"debited"' in out and '"status":"settled"' in out, out
    assert '"type":"buy_debit"' in out, out
    assert "1 credit: 0 credited, 1 to review" in out, out
    assert "verify ok" in out, out
    assert (tmp_path / "var" / "zeropools.db").exists()  # the demo's own, not the repo's
