"""End to end in a real headless Chromium: a run being written shows up live.

Starts the dashboard on a temporary logs root, writes schema events from a thread as a
trainer would, and checks in the browser that the run is listed, that new steps appear
without a reload, and that an injected NaN becomes a finding. Leaves a screenshot in the
test's temporary folder; with ``GPTSCOPE_SCREENSHOTS=docs/images`` it also writes the README's
picture there (``dashboard.png``).
"""
from __future__ import annotations

import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from gptscope.schema import dumps, make_event
from tests.app import _runs as R

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(autouse=True)
def chromium() -> Path:
    # A missing browser fails, never skips (only absent hardware may skip a test): it is no
    # hardware, and scripts/test.sh installs it (Debian's chromium package).
    assert CHROMIUM.exists(), ("needs /usr/bin/chromium: `bash scripts/test.sh` installs it "
                               "(sudo apt-get install chromium)")
    return CHROMIUM


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(repo_root: Path, logs: Path, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", str(repo_root / "app" / "dashboard.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", "--", "--logs", str(logs)]
    return subprocess.Popen(cmd, cwd=repo_root, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode()
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("dashboard did not become healthy")


class Writer(threading.Thread):
    """A stand-in trainer: one iteration every 0.3 s; a NaN loss when asked.

    The numbers look like a small character-level run (falling noisy loss, warm-up then
    cosine learning rate, an eval every 50 steps whose iteration takes longer), so the
    screenshot shows what a reader will see, and the eval-inclusive iterations are real.
    """

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.step = path, 0
        self.stop_event, self.nan = threading.Event(), threading.Event()
        self.rng = random.Random(7)

    def write(self, events) -> None:
        with open(self.path, "a") as f:
            f.write("".join(dumps(e) + "\n" for e in events))

    def step_events(self, s: int, t: float, nan: bool = False) -> list[dict]:
        loss = 1.45 + 2.75 * math.exp(-s / 90) + self.rng.gauss(0, 0.04)
        lr = 1e-3 * min(1.0, (s + 1) / 20) * (0.55 + 0.45 * math.cos(math.pi * s / 1000))
        evaluating = s % 50 == 0
        dt = (620.0 if evaluating else 100.0) * (1 + abs(self.rng.gauss(0, 0.04)))
        out = []
        if evaluating:
            out.append(make_event("eval", "e2e-run", s, t, train_loss=loss - 0.02,
                                  val_loss=loss + 0.03 + 0.0004 * s, eval_ms=500.0,
                                  best_val_loss=None))
        out.append(R.it("e2e-run", s, math.nan if nan else loss, time=t, dt_ms=dt,
                        eval_inclusive=evaluating, lr=lr,
                        grad_norm=0.4 + 1.2 * math.exp(-s / 60) + abs(self.rng.gauss(0, 0.05)),
                        tokens_per_s=10240.0 * 100.0 / dt, mfu=0.25 * 100.0 / dt,
                        mfu_smoothed=0.25))
        if nan:
            out.append(R.anomaly("e2e-run", s))
        return out

    def run(self) -> None:
        now = time.time()
        history = [R.start("e2e-run", time=now - 15.0)]
        for s in range(150):
            history += self.step_events(s, now - 15.0 + 0.1 * s)
        self.write(history)
        self.step = 150
        while not self.stop_event.wait(0.3):
            nan = self.nan.is_set()
            self.write(self.step_events(self.step, time.time(), nan=nan))
            if nan:
                self.nan.clear()
            self.step += 1


def test_live_run_in_a_real_browser(tmp_path, repo_root):
    from playwright.sync_api import expect, sync_playwright

    logs = tmp_path / "logs"
    (logs / "e2e-run").mkdir(parents=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_dashboard(repo_root, logs, port)
    writer = Writer(logs / "e2e-run" / "events.jsonl")
    try:
        wait_healthy(url, server)
        writer.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                page.goto(url)
                # the run is listed and followed
                expect(page.get_by_text("e2e-run").first).to_be_visible(timeout=60_000)
                step = page.locator('[data-testid="stMetric"]', has_text="step").locator(
                    '[data-testid="stMetricValue"]')
                expect(step).to_have_text(_digits(), timeout=30_000)
                page.evaluate("window.__noReload = 42")
                first = int(step.inner_text().replace(",", ""))
                # new steps arrive without a reload
                page.wait_for_function(
                    "n => { const e = document.querySelectorAll('[data-testid=\"stMetric\"]');"
                    " for (const m of e) if (m.innerText.includes('step')) {"
                    " const v = m.querySelector('[data-testid=\"stMetricValue\"]');"
                    " return parseInt(v.innerText.replace(/,/g, '')) >= n + 3; }"
                    " return false; }", arg=first, timeout=20_000)
                assert page.evaluate("window.__noReload") == 42
                # a NaN becomes a finding on the page
                writer.nan.set()
                expect(page.get_by_text("nonfinite_loss").first).to_be_visible(
                    timeout=30_000)
                expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
                assert page.evaluate("window.__noReload") == 42
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                _readme_picture(page)
            finally:
                browser.close()
    finally:
        writer.stop_event.set()
        writer.join(timeout=5)
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    print(f"screenshot: {tmp_path / 'dashboard.png'}")


def _digits():
    import re
    return re.compile(r"^[\d,]+$")


def _readme_picture(page) -> None:
    """With GPTSCOPE_SCREENSHOTS=DIR, the README's picture of the page as a reader sees it."""
    out = os.environ.get("GPTSCOPE_SCREENSHOTS")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 1400, "height": 1100})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(out) / "dashboard.png"))
