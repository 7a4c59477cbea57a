"""Where the real sample statements live: ``../shared/fixtures/bank`` beside the repository.

``ZEROPOOLS_FIXTURES_DIR`` overrides the location; it may name the fixtures root (holding
``bank/``) or the bank directory itself.
"""

from __future__ import annotations

import os
from pathlib import Path


def bank_dir() -> Path:
    override = os.environ.get("ZEROPOOLS_FIXTURES_DIR")
    if override:
        root = Path(override)
        return root / "bank" if (root / "bank").is_dir() else root
    return (Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures" / "bank").resolve()


def _existing() -> Path:
    # fail loudly: an empty parameter list would silently skip every fixture test
    folder = bank_dir()
    if not folder.is_dir() or not any(folder.iterdir()):
        raise RuntimeError(
            f"bank fixtures not found at {folder}; clone beside ../shared or set "
            "ZEROPOOLS_FIXTURES_DIR"
        )
    return folder


def camt_files() -> list[Path]:
    return sorted(_existing().glob("*.xml"))


def mt940_files() -> list[Path]:
    return sorted(_existing().glob("*.sta"))


def all_files() -> list[Path]:
    return camt_files() + mt940_files()
