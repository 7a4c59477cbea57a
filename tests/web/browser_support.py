"""Browser helpers of the dashboard tests: Debian's Chromium, axe-core, screenshots.

No silent skip: without ``/usr/bin/chromium`` the browser tests fail with how to install it
(``.ci/run`` installs it with apt and stops if it cannot).
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def require_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium "
            "(apt-get install chromium; .ci/run does this)",
            pytrace=False,
        )


def axe_script() -> str:
    """axe-core as shipped in the axe-playwright-python package (no download at test time)."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
