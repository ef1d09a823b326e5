"""Shared test fixtures: paths to the repository and to the real-log samples."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real third-party logs live in ../shared beside the checkout (also in CI).
REALDATA = Path(os.environ.get("GPTSCOPE_REALDATA", ROOT.parent / "shared/data/realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(f"real-log samples not found at {REALDATA}")
    return REALDATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT
