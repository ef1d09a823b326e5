"""Dashboard speed: first render of a 1,000,000-iteration run, and append-to-visible latency.

    python benchmarks/dashboard_bench.py [--iters 1000000] [--no-browser] [--samples 5]
    python benchmarks/dashboard_bench.py --runs 1000 --run-iters 10000 [--no-browser]

Prints figures (no pass/fail):
- server side: the incremental reader catching up with the file (what the dashboard does on
  first sight of a run), downsampling + chart specs of every chart, the diagnostics pass;
- in a real headless Chromium (if /usr/bin/chromium exists): page load to the first drawn
  chart on a fresh server, the same on a warm server (--warm-loads times), each split into
  framework start (navigation to Streamlit's first websocket message), server (to the
  chart's message) and browser drawing (to the drawn chart); the same for a 200-iteration
  run (the floor); and the time from appending one event to the file until the browser
  shows its step, without a reload (on a small live run and on the 1,000,000-iteration run
  itself);
- with --runs N: a logs root of N runs of --run-iters iterations each (hard links of one
  file, so the disk holds it once; each is still read as its own run): the run list's first
  tick, the tick after the loader thread has read the rest, and a tick with nothing new,
  server side; page load to the run table in Chromium, split as above.

The load average is printed at the start and at the end: the figures mean little without
it on a shared machine.
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gptscope.schema import dumps, make_event  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
ITER = ('{{"type":"iter","v":1,"run_id":"{rid}","time":{t:.3f},"step":{s},"loss":{loss},'
        '"lr":{lr:.6g},"grad_norm":1.0,"dt_ms":{dt},"step_ms":100.0,"eval_inclusive":{ei},'
        '"tokens_per_s":163840.0,"mfu":0.31,"mfu_smoothed":0.31}}\n')


def write_run(path: Path, run_id: str, n: int, t_end: float) -> None:
    """A long healthy run with evals every 250 steps, a few spikes and one NaN."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = t_end - 0.1 * n
    start = make_event("run_start", run_id, 0, t0, config={"max_iters": n},
                       model={"n_params": 10_650_000}, tokens_per_iter=16384, max_iters=n,
                       device="cuda", device_name="bench", dtype="bfloat16", world_size=1,
                       peak_flops=312e12, peak_flops_source="table:A100",
                       torch_version="bench", source="gptscope")
    with open(path, "w") as f:
        f.write(dumps(start) + "\n")
        chunk = []
        for s in range(n):
            t = t0 + 0.1 * s
            if s % 250 == 0:
                chunk.append(dumps(make_event("eval", run_id, s, t, train_loss=3.0 - s / n,
                                              val_loss=3.1 - s / n, eval_ms=400.0,
                                              best_val_loss=None)) + "\n")
            loss = 3.0 * math.exp(-s / (n / 4)) + 0.5 + 0.05 * math.sin(s * 0.7)
            if s % 99_991 == 17:
                loss *= 4  # spikes the downsampling must keep
            loss_s = "null" if s == n // 2 else f"{loss:.5f}"
            ei = s % 250 == 0
            chunk.append(ITER.format(rid=run_id, t=t, s=s, loss=loss_s, lr=6e-4,
                                     dt=500.0 if ei else 100.0, ei="true" if ei else "false"))
            if len(chunk) >= 50_000:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def server_side(path: Path) -> None:
    from analyzer.diagnostics import run_all
    from analyzer.follow import Follower
    from analyzer.stats import eval_inclusive
    from app import logic, series
    from app.charts import line_chart, run_colors

    follower = Follower(path)
    _, t_follow = timed(follower.poll)
    run = follower.run
    print(f"  incremental reader, first poll (catch-up): {t_follow:6.2f} s "
          f"({len(run.iters):,} iterations, {path.stat().st_size / 1e6:.0f} MB)")

    def charts():
        n = 0
        evi = eval_inclusive(run).to_numpy()   # once per file version, as the view caches it
        bands = [(float(a), float(b), "nan") for a, b in series.nonfinite_ranges(run)]
        for spec in series.CHARTS:
            pts, mk = series.chart_points(run, "bench", spec, "step", 0.6, evi=evi)
            if len(pts):
                line_chart(pts, title=spec.title, y_title=spec.y_title, x_title="step",
                           colors=run_colors(["bench"]), markers=mk, bands=bands)
            n = max(n, len(pts))
        return n

    n_pts, t_charts = timed(charts)
    print(f"  eval mask + downsample + smooth + specs, {len(series.CHARTS)} charts: "
          f"{t_charts:6.2f} s (largest chart {n_pts:,} points)")
    _, t_head = timed(logic.steady_figures, run)
    print(f"  header figures (steady medians): {t_head:6.2f} s")
    findings, t_diag = timed(run_all, run)
    print(f"  diagnostics (run_all): {t_diag:6.2f} s ({len(findings)} findings)")
    _, t_poll = timed(follower.poll)
    print(f"  poll with nothing new: {t_poll * 1e3:6.2f} ms")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(logs: Path, port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "dashboard.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--server.fileWatcherType", "none",
           "--browser.gatherUsageStats", "false", "--", "--logs", str(logs)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the dashboard did not start")


STEP_AT_LEAST = """n => { for (const m of document.querySelectorAll('[data-testid="stMetric"]'))
  if (m.innerText.includes('step')) {
    const v = m.querySelector('[data-testid="stMetricValue"]');
    return parseInt(v.innerText.replace(/,/g, '')) >= n; }
  return false; }"""
# a chart drawn at its size (Vega's canvas or svg exists before it is laid out)
CHART_DRAWN = """() => [...document.querySelectorAll(
  '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')]
  .some(e => e.getBoundingClientRect().height > 100)"""


class Arrivals:
    """When the page received Streamlit's messages, in seconds since ``start``: the first
    one (the framework has started and opened its websocket: "session") and the first of
    each element type ("vega_lite_chart", "dataframe"). Between the first message and an
    element is the server's work; between the element and its drawing, the browser's."""

    def __init__(self, page):
        self.start, self.at = time.perf_counter(), {}
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        msg = ForwardMsg()
        msg.ParseFromString(bytes(payload))
        now = time.perf_counter() - self.start
        self.at.setdefault("session", now)
        if msg.HasField("delta") and msg.delta.HasField("new_element"):
            self.at.setdefault(msg.delta.new_element.WhichOneof("type"), now)

    def split(self, element: str, drawn: float) -> str:
        first, el = self.at.get("session", math.nan), self.at.get(element, math.nan)
        return (f"framework start {first:.2f} s + server {el - first:.2f} s + "
                f"browser drawing {drawn - el:.2f} s")


def page_load(browser, url: str) -> tuple[float, float, str]:
    """Seconds from navigation to the first drawn chart, and to the NaN finding shown, and
    where the time to the chart went."""
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    arrivals = Arrivals(page)
    t = arrivals.start
    page.goto(url)
    page.wait_for_function(CHART_DRAWN, timeout=600_000, polling=20)
    chart = time.perf_counter() - t
    page.get_by_text("nonfinite_loss").first.wait_for(timeout=600_000)
    findings = time.perf_counter() - t
    page.close()
    return chart, findings, arrivals.split("vega_lite_chart", chart)


def append_latency(browser, url: str, path: Path, run_id: str, next_step: int,
                   samples: int) -> list[float]:
    page = browser.new_page(viewport={"width": 1400, "height": 1400})
    page.goto(url)
    page.wait_for_function(STEP_AT_LEAST, arg=next_step - 1, timeout=600_000)
    page.evaluate("window.__noReload = 1")
    out = []
    for i in range(samples):
        step = next_step + i
        time.sleep(1.3)  # land at a random phase of the 1 s refresh
        with open(path, "a") as f:
            f.write(dumps(make_event("iter", run_id, step, time.time(), loss=1.0, lr=6e-4,
                                     dt_ms=100.0)) + "\n")
        t = time.perf_counter()
        page.wait_for_function(STEP_AT_LEAST, arg=step, timeout=60_000, polling=20)
        out.append(time.perf_counter() - t)
    assert page.evaluate("window.__noReload") == 1, "the page reloaded"
    page.close()
    return out


def browser_side(logs: Path, big: Path, n: int, samples: int, warm_loads: int) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    t = time.perf_counter()
    server = start_server(logs, port)
    print(f"  server start to health ok: {time.perf_counter() - t:6.2f} s")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            labels = ["fresh server"] + [f"warm server (run already read) #{i}"
                                         for i in range(1, warm_loads + 1)]
            for label in labels:
                chart, findings, split = page_load(browser, url + "/?run=big/events.jsonl")
                print(f"  page load, 1M run, {label}: first chart drawn {chart:6.2f} s "
                      f"({split}), findings shown {findings:6.2f} s")
            small = logs / "small" / "events.jsonl"
            write_run(small, "small", 200, time.time())
            chart, _, split = page_load(browser, url + "/?run=small/events.jsonl")
            print(f"  page load, 200-iteration run (the floor), warm server: first chart "
                  f"drawn {chart:6.2f} s ({split})")
            lat = append_latency(browser, url + "/?run=small/events.jsonl", small, "small",
                                 200, samples)
            print(f"  append to visible, small live run: median {statistics.median(lat):.2f}"
                  f" s, max {max(lat):.2f} s ({samples} appends, no reload)")
            lat = append_latency(browser, url + "/?run=big/events.jsonl", big, "big", n,
                                 samples)
            print(f"  append to visible, 1M-iteration live run: median "
                  f"{statistics.median(lat):.2f} s, max {max(lat):.2f} s")
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def many_runs(logs: Path, n_runs: int, iters: int) -> None:
    """A root of ``n_runs`` runs; their mtimes spread so newest-first is a real order."""
    first = logs / "run-0000" / "events.jsonl"
    write_run(first, "run-0000", iters, time.time())
    now = time.time()
    for i in range(1, n_runs):
        dest = logs / f"run-{i:04d}" / "events.jsonl"
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.link(first, dest)
    os.utime(first, (now, now))


class _Ctx:
    """The page context the run list uses (app.views.common.Context) without Streamlit."""
    def __init__(self, root: Path):
        from app.live import LiveRegistry
        from app.views.common import Context
        self.ctx = Context(root, LiveRegistry(root))


def run_list_server_side(logs: Path) -> None:
    """What the run list fragment does per tick (app.views.runs.list_rows, without
    Streamlit): list, read runs not read yet within the tick's budget, summarise, hand the
    rest to the registry's loader thread; the page ticks every LIST_EVERY_S."""
    from app.views import runs as view
    ctx = _Ctx(logs).ctx

    def tick():
        disc = ctx.discover()
        rows, pending = view.list_rows(ctx, disc, set(), time.time())
        ctx.registry.preload(pending)
        return disc, [r for r in rows if r.step is not None]
    (disc, rows), t_first = timed(tick)
    print(f"  run list, first tick: {t_first:6.2f} s ({len(disc.runs)} runs listed, "
          f"{len(rows)} summarised; the loader thread reads the rest)")
    start = time.perf_counter()
    while ctx.registry.loading():
        time.sleep(0.01)
    (disc, rows), t_second = timed(tick)
    print(f"  run list, all {len(rows)} summaries on the tick after the loader thread is "
          f"done, {time.perf_counter() - start + t_first:5.2f} s after the first tick began "
          f"(that tick: {t_second * 1e3:.1f} ms; the page ticks every {view.LIST_EVERY_S:g} s)")
    _, t_again = timed(tick)
    print(f"  run list, a tick with nothing new: {t_again * 1e3:6.1f} ms")
    ctx.registry.stop()


# the run list's table (the run details table sits in a closed expander, hidden)
TABLE_SHOWN = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
  .some(e => e.offsetParent !== null && e.getBoundingClientRect().height > 0)"""


def run_table_in_browser(logs: Path, warm_loads: int) -> None:
    from playwright.sync_api import sync_playwright
    port = free_port()
    server = start_server(logs, port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for label in ["fresh server"] + [f"warm server #{i}"
                                             for i in range(1, warm_loads + 1)]:
                page = browser.new_page(viewport={"width": 1400, "height": 1400})
                arrivals = Arrivals(page)
                page.goto(f"http://127.0.0.1:{port}")
                page.wait_for_function(TABLE_SHOWN, timeout=600_000)
                shown = time.perf_counter() - arrivals.start
                print(f"  page load to run table, {label}: {shown:6.2f} s "
                      f"({arrivals.split('dataframe', shown)})")
                page.close()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=5, help="appends timed per run")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--runs", type=int, default=0, help="benchmark a root of this many runs")
    ap.add_argument("--run-iters", type=int, default=10_000)
    ap.add_argument("--warm-loads", type=int, default=3, help="page loads on a warm server")
    args = ap.parse_args()
    print(f"load average at start: {_load()}")
    try:
        _bench(args)
    finally:
        print(f"load average at end: {_load()}")


def _load() -> str:
    return " ".join(open("/proc/loadavg").read().split()[:3])


def _bench(args: argparse.Namespace) -> None:
    if args.runs:
        with tempfile.TemporaryDirectory(prefix="gptscope-bench-") as tmp:
            logs = Path(tmp) / "logs"
            _, t = timed(many_runs, logs, args.runs, args.run_iters)
            print(f"wrote {args.runs:,} runs of {args.run_iters:,} iterations in {t:.1f} s")
            print("server side:")
            run_list_server_side(logs)
            if not args.no_browser and Path(CHROMIUM).exists():
                print("browser (headless Chromium):")
                run_table_in_browser(logs, args.warm_loads)
        return
    with tempfile.TemporaryDirectory(prefix="gptscope-bench-") as tmp:
        logs = Path(tmp) / "logs"
        big = logs / "big" / "events.jsonl"
        _, t = timed(write_run, big, "big", args.iters, time.time())
        print(f"wrote a {args.iters:,}-iteration run in {t:.1f} s")
        print("server side:")
        server_side(big)
        if args.no_browser or not Path(CHROMIUM).exists():
            print("browser: skipped")
            return
        print("browser (headless Chromium):")
        browser_side(logs, big, args.iters, args.samples, args.warm_loads)


if __name__ == "__main__":
    main()
