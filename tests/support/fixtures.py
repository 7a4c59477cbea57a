"""Bank statements for tests: the real samples in ``../shared/fixtures/bank`` and the generator.

The samples live beside the repository (``../shared/fixtures/bank``, see SOURCES.md there);
``ZEROPOOLS_FIXTURES_DIR`` overrides the location and may name the fixtures root (holding
``bank/``) or the bank directory itself. ``generate`` is the synthetic camt.053/054 writer of
the bank-file unit tests (``tests/unit/bankfiles/generate.py``), loaded by path so the other test
directories use the very same code without depending on how ``tests/unit`` lands on
``sys.path`` (the unit tests import it relatively, the benchmark by path too).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

_TESTS = Path(__file__).resolve().parents[1]
_GENERATOR = _TESTS / "unit" / "bankfiles" / "generate.py"


def bank_dir() -> Path:
    """Where the real sample statements are (whether or not they are there)."""
    override = os.environ.get("ZEROPOOLS_FIXTURES_DIR")
    if override:
        root = Path(override)
        return root / "bank" if (root / "bank").is_dir() else root
    return (_TESTS.parent / ".." / "shared" / "fixtures" / "bank").resolve()


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


def fixture_bytes(name: str) -> bytes:
    """A real sample statement from ``../shared/fixtures/bank`` (see SOURCES.md there)."""
    return (bank_dir() / name).read_bytes()


def _load(name: str, path: Path) -> ModuleType:
    """Import a helper module by file path, once, under a name of our own."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


generate = _load("zp_support_camt_generate", _GENERATOR)
