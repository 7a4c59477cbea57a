"""``pip install .`` works: the wheel ships the SQL migrations the store needs at run time.

Goal: a wheel built from the source tree contains the package data that is not Python
(``store/migrations/{sqlite,postgres}/0001_init.sql``) and the ``zeropools`` console script.

Method: copy the project's build inputs (``pyproject.toml``, ``README.md``, ``src/``) to a
temporary directory, so that the build's ``build/`` and ``*.egg-info`` never land in the working
tree, run ``pip wheel --no-deps`` there, and list the wheel with ``zipfile``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 300


@pytest.mark.slow
def test_the_wheel_contains_the_migrations_of_both_stores(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(PROJECT / name, source / name)
    shutil.copytree(
        PROJECT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "*.pyc"),
    )
    out = tmp_path / "wheels"

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )

    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = list(out.glob("zeropools-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert "zeropools/store/migrations/sqlite/0001_init.sql" in names
    assert "zeropools/store/migrations/postgres/0001_init.sql" in names
    assert "zeropools/py.typed" in names
    assert "zeropools = zeropools.cli:main" in scripts
