"""Shared test fixtures (paths to the repository and to the real-log samples, the tiny trainer
configuration, an empty dashboard logs root) and the skip policy of the suite.

Skip policy: a test may skip only because hardware is absent (a GPU: its skip reason names
CUDA, GPU, MPS or NCCL). Every other skip (a missing browser, data file, parser, package...)
hides a part of the suite that a fresh clone is supposed to run, so the session prints its
skip count and fails (exit status 1) when any such skip happened. Set GPTSCOPE_ALLOW_SKIPS=1
to only report them on a development machine; CI (CI=true) ignores it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Mapping

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The real third-party logs ship with the tests (provenance in tests/data/realdata/SOURCES.md):
# a user's clone has only the repository, and no test may skip for missing data.
REALDATA = Path(os.environ.get("GPTSCOPE_REALDATA", ROOT / "tests/data/realdata"))

# A skip reason that names absent hardware. Anything else is a hole in the suite.
HARDWARE_REASON = re.compile(r"\b(cuda|gpus?|mps|nccl)\b", re.IGNORECASE)


@pytest.fixture(scope="session")
def realdata() -> Path:
    assert REALDATA.is_dir(), f"real-log samples missing at {REALDATA}"
    return REALDATA


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def real_logs(realdata: Path) -> Any:
    """``real_logs(folder, pattern="*.log", minimum=1)``: {file name: path} of the real logs
    shipped in one tests/data/realdata folder; fewer than ``minimum`` fails (data missing)."""
    def find(folder: str, pattern: str = "*.log", minimum: int = 1) -> dict[str, Path]:
        found = {p.name: p for p in sorted((realdata / folder).glob(pattern))}
        assert len(found) >= minimum, f"{len(found)} logs in {realdata / folder}"
        return found
    return find


def tiny_config(out_dir: Path, **overrides: Any) -> Any:
    """The trainer's tiny preset on the CPU writing under ``out_dir``: the configuration
    every trainer, reliability and security test starts from (seconds to train)."""
    from trainer.config import preset  # torch: only the tests that train import it
    settings: dict[str, Any] = dict(out_dir=str(out_dir), device="cpu")
    return preset("tiny").replace(**{**settings, **overrides}).validate()


@pytest.fixture
def logs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An empty logs root the dashboard reads (GPTSCOPE_LOGS); afterwards its cached
    resources (the root's watchdog observer among them) and data are cleared."""
    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.setenv("GPTSCOPE_LOGS", str(logs))
    yield logs
    import streamlit as st
    st.cache_resource.clear()
    st.cache_data.clear()


# ---- skip policy -------------------------------------------------------------------------

def skip_reason(report: pytest.TestReport) -> str:
    """The reason pytest gives for a skipped report ('Skipped: ' removed)."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


def is_hardware_skip(reason: str) -> bool:
    return bool(HARDWARE_REASON.search(reason))


def skips_enforced(environ: Mapping[str, str] = os.environ) -> bool:
    """Non-hardware skips fail the session, unless GPTSCOPE_ALLOW_SKIPS=1 outside CI."""
    ci = environ.get("CI", "").lower() not in ("", "0", "false", "no")
    return ci or environ.get("GPTSCOPE_ALLOW_SKIPS", "") in ("", "0")


class SkipPolicy:
    """Counts the session's skips, prints them, and fails the session on a non-hardware one."""

    def __init__(self) -> None:
        self.skips: list[tuple[str, str]] = []  # (test id, reason)

    @property
    def other(self) -> list[tuple[str, str]]:
        return [(n, r) for n, r in self.skips if not is_hardware_skip(r)]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # an xfail is reported as skipped too (with wasxfail): it ran, so it is no skip
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skips.append((report.nodeid, skip_reason(report)))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:  # a whole module skipped at import (pytest.importorskip, ...)
            self.skips.append((report.nodeid, skip_reason(report)))  # type: ignore[arg-type]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus == pytest.ExitCode.OK and self.other and skips_enforced():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr, other, enforced = terminalreporter, self.other, skips_enforced()
        tr.write_line(f"skipped: {len(self.skips)} test(s), {len(self.skips) - len(other)} "
                      f"for absent hardware, {len(other)} for other reasons")
        if other:
            verdict = ("the run fails: only absent hardware (a GPU) may skip a test"
                       if enforced else "allowed here by GPTSCOPE_ALLOW_SKIPS=1")
            tr.write_line(f"skip policy: {len(other)} test(s) skipped for other reasons than "
                          f"absent hardware; {verdict}", red=enforced, bold=True)
            for nodeid, reason in other:
                tr.write_line(f"  {nodeid}: {reason}")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SkipPolicy(), "gptscope-skip-policy")
