"""Helpers for running the installed ``zeropools`` command in subprocesses.

The implementation lives in ``support.processes`` (shared with the reliability suites); this
module keeps the names the CLI tests import.
"""

from __future__ import annotations

from support.processes import COMMAND_TIMEOUT_S, ZEROPOOLS, clean_env, free_port, run

__all__ = ["COMMAND_TIMEOUT_S", "ZEROPOOLS", "clean_env", "free_port", "mismatch_lines", "run"]


def mismatch_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("MISMATCH")]
