"""Finance-close fixtures: a deployment (each store) signing with a key file of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.services import signing
from zeropools.services.context import Deployment
from zeropools.store.protocol import Store


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    signing.generate_key_file(path)
    return path


@pytest.fixture
def fdep(store: Store, db_url: str, key_file: Path) -> Deployment:
    return deployment(Settings(db_url=db_url, signing_key_file=str(key_file)), store)
