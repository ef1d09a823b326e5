"""End to end in a real headless Chromium: what the page shows, and the chart data it got.

Two tests, each with its own dashboard server (they are slow on a small machine, so each
asserts a lot):

- a run being written live: listed, followed without a reload, a NaN becomes a finding; the
  header shows steady-state medians, eval iterations are markers and never in the line, the
  page asks nothing of a host other than the dashboard's;
- real third-party logs of every format, finished long ago, plus files that are no log:
  their statuses, and, overlaid, a time chart for every format with one distinct colour per
  run, the same on every chart.

The chart data is read off the websocket as the browser received it (Streamlit's ForwardMsg
protobufs, datasets as Arrow). The first test leaves a screenshot in its temporary folder;
with ``GPTSCOPE_SCREENSHOTS=docs/images`` it also writes the README's picture there.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

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


class Wire:
    """What the server sent the page: Streamlit's ForwardMsgs, taken off the websocket."""

    def __init__(self, page):
        self.msgs: list = []
        self.hosts: set[str] = set()
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))
        page.on("request", lambda r: self.hosts.add(urlparse(r.url).hostname or r.url[:5]))

    def _frame(self, payload) -> None:
        if isinstance(payload, (bytes, bytearray)):
            from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
            msg = ForwardMsg()
            msg.ParseFromString(bytes(payload))
            if msg.HasField("delta") and msg.delta.HasField("new_element"):
                self.msgs.append(msg.delta.new_element)

    def charts(self) -> dict[str, dict]:
        """The latest spec and datasets (DataFrames) of each chart panel, by title.

        The panels travel as one linked chart (a vconcat whose datasets are named
        ``p<i>_<name>``): each panel comes back with its own layers and datasets, unprefixed."""
        out = {}
        for el in self.msgs:
            if el.WhichOneof("type") == "vega_lite_chart":
                spec = json.loads(el.vega_lite_chart.spec)
                data = {d.name: _arrow(d.data.data) for d in el.vega_lite_chart.datasets}
                for i, panel in enumerate(spec.get("vconcat", [])):
                    prefix = f"p{i}_"
                    for layer in panel["layer"]:
                        layer["data"]["name"] = layer["data"]["name"].removeprefix(prefix)
                    panel["data"] = {k.removeprefix(prefix): v for k, v in data.items()
                                     if k.startswith(prefix)}
                    out[panel.get("title")] = panel
                self.linked = spec
        return out

    def tables(self) -> list:
        return [_arrow(el.dataframe.arrow_data.data) for el in self.msgs
                if el.WhichOneof("type") == "dataframe"]


def _arrow(data: bytes):
    import pyarrow as pa
    return pa.ipc.open_stream(data).read_all().to_pandas()


def _layer(spec: dict, name: str, mark: str) -> dict:
    return next(layer for layer in spec["layer"]
                if layer["data"]["name"] == name and layer["mark"]["type"] == mark)


def _colours(spec: dict) -> dict[str, str]:
    scale = _layer(spec, "lines", "line")["encoding"]["color"]["scale"]
    return dict(zip(scale["domain"], scale["range"]))


def metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label)
    return box.locator('[data-testid="stMetricValue"]').inner_text()


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


class Dashboard:
    """A dashboard server on a logs root, stopped (its whole process group) on exit."""

    def __init__(self, repo_root: Path, logs: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = start_dashboard(repo_root, logs, self.port)

    def __enter__(self) -> "Dashboard":
        wait_healthy(self.url, self.proc)
        return self

    def __exit__(self, *exc) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


LOCAL = {"127.0.0.1", "localhost", "data:", "blob:"}


def test_live_run_in_a_real_browser(tmp_path, repo_root):
    from playwright.sync_api import expect, sync_playwright

    from app.charts import PALETTE

    logs = tmp_path / "logs"
    (logs / "e2e-run").mkdir(parents=True)
    writer = Writer(logs / "e2e-run" / "events.jsonl")
    try:
        with Dashboard(repo_root, logs) as dash, sync_playwright() as p:
            writer.start()
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                wire = Wire(page)
                page.goto(dash.url)
                # the run is listed and followed
                expect(page.get_by_text("e2e-run").first).to_be_visible(timeout=60_000)
                step = page.locator('[data-testid="stMetric"]', has_text="step").locator(
                    '[data-testid="stMetricValue"]').first     # "step", before "ms/step"
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
                expect(page.locator('[data-testid="stVegaLiteChart"] svg').first
                       ).to_be_visible()
                assert page.evaluate("window.__noReload") == 42
                # the header: steady medians (every 50th step holds a 620 ms eval at 4% MFU)
                mfu = float(metric(page, "MFU (steady median)").rstrip("%"))
                assert 23.0 <= mfu <= 25.0, mfu
                assert 95.0 <= float(metric(page, "ms/step (steady median)")) <= 110.0
                assert "nan" not in page.locator("main").inner_text().lower().split()
                _eval_steps_are_markers(wire.charts(), writer.step)
                assert set(_colours(wire.charts()["training loss"]).values()) == {PALETTE[0]}
                assert wire.hosts <= LOCAL, wire.hosts     # offline: nothing from elsewhere
                page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)
                _readme_picture(page)
            finally:
                browser.close()
    finally:
        writer.stop_event.set()
        writer.join(timeout=5)
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    print(f"screenshot: {tmp_path / 'dashboard.png'}")


def _eval_steps_are_markers(charts: dict, last_step: int) -> None:
    """In the time, MFU and tokens/s charts the eval iterations (every 50th step) are the
    markers, and no line point is one of them."""
    for title in ("time per iteration", "model FLOPs utilisation", "throughput"):
        data = charts[title]["data"]
        line_steps = set(data["lines"]["step"].astype(int))
        marks = data["markers"]
        assert line_steps and not {s for s in line_steps if s % 50 == 0}, title
        # every eval iteration up to the newest step this chart had received (the writer may
        # be a step ahead of the chart: an eval at step 200 with the line at 199 is not yet
        # there, which the old bound max(line)+1 wrongly required)
        newest = max(max(line_steps), int(marks["step"].max()) if len(marks) else 0)
        assert set(marks["step"].astype(int)) == set(range(0, min(last_step, newest) + 1,
                                                           50)), title
        assert _layer(charts[title], "markers", "point")["mark"]["shape"] == "triangle-up"
    time_marks = charts["time per iteration"]["data"]["markers"]["y"]
    assert time_marks.min() >= 620.0       # the evals' own time, off the ~100 ms line
    assert charts["time per iteration"]["data"]["lines"]["y"].max() < 200.0


REAL = {  # one real log per format, finished long ago: what its status must read
    "nanogpt.log": ("nanogpt/macmini-m4-mps-warnings-evalspike-overfit-excerpt.log", "ended"),
    "llmc.log": ("llmc/hector-11672114-healthy-truncated-at-hellaswag.log", "interrupted"),
    "llmc-oom.log": ("llmc/hector-11672072-cuda-oom-at-startup.log", "failed"),
    "nanochat.log": ("nanochat/pr492-speedrun-d24-base_train-8xH100-head400.log", "ended"),
    "modded.log": ("modded-nanogpt/2025-01-26-batchsize.log", "completed"),
    "buildnanogpt.log": ("build-nanogpt/agndm-1epoch-4gpu-stdout-head300.log", "ended"),
}
NOT_LOGS = {"empty.log": b"", "blob.log": bytes(range(256)) * 16,
            "diary.txt": b"dear diary, no training today\n" * 10}


def test_real_logs_of_every_format_and_files_that_are_no_log(tmp_path, repo_root, realdata):
    from playwright.sync_api import expect, sync_playwright

    from app.charts import PALETTE

    logs = tmp_path / "logs"
    logs.mkdir()
    for name, (src, _) in REAL.items():
        shutil.copy(realdata / src, logs / name)
    for name, data in NOT_LOGS.items():
        (logs / name).write_bytes(data)
    for f in logs.iterdir():
        os.utime(f, (time.time() - 3600, time.time() - 3600))
    formats = [n for n in REAL if n != "llmc-oom.log"]   # the OOM log has no iteration
    query = "&".join(f"run={n}" for n in formats)
    with Dashboard(repo_root, logs) as dash, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            wire = Wire(page)
            page.goto(f"{dash.url}/?{query}")
            expect(page.get_by_text(f"{len(formats)} runs overlaid")).to_be_visible(
                timeout=120_000)
            # the panels are one linked chart: wait for five of its x axes
            page.wait_for_function(f"() => ({X_AXES_JS})().length >= 5",
                                   timeout=60_000)
            table = _settled_run_table(page, wire)
            statuses = dict(zip(table["run"], table["status"]))
            assert statuses == {**{n: want for n, (_, want) in REAL.items()},
                                **{n: "not a training log" for n in NOT_LOGS}}
            charts = wire.charts()
            # every format has a time chart, from dt or from its step time
            runs_in_time = set(charts["time per iteration"]["data"]["lines"]["run"])
            assert runs_in_time == set(formats)
            # one colour per run, distinct, and the same on every chart
            colours = _colours(charts["training loss"])
            assert list(colours) == formats and list(colours.values()) == PALETTE[:len(formats)]
            for title, spec in charts.items():
                assert _colours(spec) == colours, title
            assert wire.hosts <= LOCAL, wire.hosts
            _one_zoom_on_every_panel(wire.linked, len(charts))
            _drag_pans_every_panel(page, len(charts))
            _untick_a_row(page, list(table["run"]), formats)
        finally:
            browser.close()


def _settled_run_table(page, wire: Wire, timeout_s: float = 60.0):
    """The run table the page last received, once it lists every run read (a long first
    read shows "loading…" until the loader thread is done and the list ticks again)."""
    deadline = time.monotonic() + timeout_s
    while True:
        tables = [t for t in wire.tables() if "updated" in t.columns]
        if tables and "loading…" not in set(tables[-1]["status"]):
            return tables[-1]
        assert time.monotonic() < deadline, f"the run list still reads {tables[-1:]}"
        page.wait_for_timeout(200)     # lets playwright deliver the next websocket frames


def _one_zoom_on_every_panel(spec: dict, n_panels: int) -> None:
    """The panels are one chart with one x-interval selection bound to the scales, on the
    line layer of every panel (so a drag on one zooms all)."""
    assert len(spec["vconcat"]) == n_panels
    (zoom,) = spec["params"]
    assert zoom["bind"] == "scales" and zoom["select"]["encodings"] == ["x"]
    named = [layer["name"] for panel in spec["vconcat"] for layer in panel["layer"]
             if "name" in layer]
    assert sorted(zoom["views"]) == sorted(named) and len(named) == n_panels
    assert spec["resolve"]["scale"]["x"] == "shared"


X_AXES_JS = ("() => Array.from(document.querySelectorAll('[data-testid=\"stVegaLiteChart\"]"
             " g[aria-roledescription=\"axis\"]')).map(g => g.getAttribute('aria-label'))"
             ".filter(a => a && a.startsWith('X-axis'))")


def _drag_pans_every_panel(page, n_panels: int) -> None:
    """A real drag on the first panel moves the x axis of every panel, to the same range
    (Vega describes each axis, range included, in its aria-label)."""
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    before = page.evaluate(X_AXES_JS)
    assert len(before) == n_panels and len(set(before)) == 1, before
    box = chart.bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + 150
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 300, y, steps=10)
    page.mouse.up()
    page.wait_for_timeout(500)
    after = page.evaluate(X_AXES_JS)
    assert len(after) == n_panels and len(set(after)) == 1, after
    assert after[0] != before[0]


def _untick_a_row(page, rows: list[str], formats: list[str]) -> None:
    """A click on a ticked row's checkbox in the run table takes that run off the charts
    (the table is a canvas: the click goes to the row's place; rows are 35 px)."""
    from playwright.sync_api import expect
    i = next(i for i, n in enumerate(rows[:6]) if n in formats)
    grid = page.locator('[data-testid="stDataFrame"]').last
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 35 * i + 17)
    expect(page.get_by_text(f"{len(formats) - 1} runs overlaid")).to_be_visible(
        timeout=30_000)
    chips = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
    assert rows[i] not in chips.inner_text().split("\n")


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
