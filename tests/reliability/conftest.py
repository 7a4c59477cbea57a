"""The reliability suites: every test here carries the ``reliability`` marker.

``make test`` runs them with the quick profile; ``make soak`` runs only them, with
``ZEROPOOLS_SOAK=1`` (see ``reliability_support.Profile``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.reliability)
