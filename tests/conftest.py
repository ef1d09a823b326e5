"""Shared test fixtures: paths to the repository and to the real-log samples."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real third-party logs ship with the tests (provenance in tests/data/realdata/SOURCES.md):
# a user's clone has no ../shared, and no test may skip for missing data.
REALDATA = Path(os.environ.get("GPTSCOPE_REALDATA", ROOT / "tests/data/realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    assert REALDATA.is_dir(), f"real-log samples missing at {REALDATA}"
    return REALDATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
