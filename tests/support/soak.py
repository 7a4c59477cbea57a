"""The soak knob: quick sizes by default, full sizes under ``ZEROPOOLS_SOAK=1``.

The quick profile (``make test``, CI) runs every test with sizes that prove the same property
on two shared cores: 20 concurrent executions show no double-spend as well as 200 do, and a
property test's examples are bounded. ``ZEROPOOLS_SOAK=1`` (``make soak``) runs the same tests at
full size and hypothesis at many more examples, for the nightly run. Tests whose size changes
carry the ``soak`` marker, so ``-m soak`` selects them. Kept free of pytest (worker scripts and
benches may import it).
"""

from __future__ import annotations

import os

SOAK = os.environ.get("ZEROPOOLS_SOAK") == "1"


def sized(quick: int, soak: int) -> int:
    """``soak`` under ``ZEROPOOLS_SOAK=1``, else ``quick`` (a count, a number of examples...)."""
    return soak if SOAK else quick
