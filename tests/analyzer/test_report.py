"""Reports: a PNG figure set and a self-contained HTML page with the findings, escaped."""
from __future__ import annotations

import base64
import re

import numpy as np

from analyzer.cli import main
from analyzer.diagnostics import run_all
from analyzer.loader import load
from analyzer.report import panels, render_html, render_png, thin
from tests.analyzer._cli_runs import overfit_events, write

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_png_report(tmp_path, capsys):
    run_file = write(tmp_path / "run.jsonl", overfit_events())
    out = tmp_path / "report.png"
    assert main(["report", str(run_file), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 10_000
    assert "wrote" in capsys.readouterr().err


def test_panels_follow_the_data(tmp_path):
    run = load(write(tmp_path / "run.jsonl", overfit_events()))
    assert [t for t, _ in panels(run, [])] == ["Loss", "Step time", "MFU", "Learning rate"]
    run.iters["mfu"] = np.nan
    run.iters["lr"] = np.nan
    assert [t for t, _ in panels(run, [])] == ["Loss", "Step time"]


def test_html_report_embeds_figures_and_findings_escaped(tmp_path):
    evil = "<script>alert('x')</script>"
    events = overfit_events(end={"status": "failed", "error": f"RuntimeError: {evil}",
                                 "steps": 999, "wall_s": 10.0})
    run = load(write(tmp_path / "run.jsonl", events))
    findings = run_all(run)
    assert {"run_failed", "overfitting", "eval_spikes"} <= {f.code for f in findings}
    out = tmp_path / "report.html"
    render_html(run, findings, out)
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    for f in findings:
        assert f.code in page
    assert "step 500" in page  # the checkpoint to keep
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 4
    assert all(base64.b64decode(img)[:8] == PNG_MAGIC for img in images)


def test_html_via_cli_and_png_direct(tmp_path):
    run_file = write(tmp_path / "run.jsonl", overfit_events(n=300))
    out = tmp_path / "r.html"
    assert main(["report", str(run_file), "-o", str(out)]) == 0
    assert "Findings" in out.read_text()
    run = load(run_file)
    render_png(run, [], tmp_path / "direct.png")
    assert (tmp_path / "direct.png").read_bytes()[:8] == PNG_MAGIC


def test_thin_keeps_spikes_and_bounds_points():
    x = np.arange(100_000, dtype=float)
    y = np.ones_like(x)
    y[54_321] = 50.0
    y[77_777] = np.nan
    tx, ty = thin(x, y, max_points=1000)
    assert len(tx) <= 1002 and np.nanmax(ty) == 50.0 and np.nanmin(ty) == 1.0
    sx, sy = thin(x[:10], y[:10], max_points=1000)
    assert len(sx) == 10


def test_html_of_a_real_log(realdata, tmp_path):
    # macmini: val minimum 1.4723 at step 1750 then up; eval steps take ~89 s
    src = realdata / "nanogpt/macmini-m4-mps-warnings-evalspike-overfit-excerpt.log"
    out = tmp_path / "macmini.html"
    assert main(["report", str(src), "-o", str(out)]) == 0
    page = out.read_text()
    assert "overfitting" in page and "step 1750" in page and "eval_spikes" in page
    assert page.count("data:image/png;base64,") == 3  # loss, step time, MFU (no lr logged)


def test_segments_are_drawn_apart(tmp_path):
    from tests.analyzer._cli_runs import start
    events = overfit_events(n=200) + [start("r")] + overfit_events(n=200)[1:]
    run = load(write(tmp_path / "two.jsonl", events))
    assert run.n_segments == 2
    render_png(run, run_all(run), tmp_path / "two.png")
    assert (tmp_path / "two.png").read_bytes()[:8] == PNG_MAGIC


def test_a_run_directory_is_titled_with_its_run_id(tmp_path):
    # a run directory's file is always events.jsonl: the run id says which run it is
    d = tmp_path / "logs" / "20261130-002316"
    d.mkdir(parents=True)
    write(d / "events.jsonl", overfit_events(run_id="20261130-002316"))
    out = tmp_path / "r.html"
    assert main(["report", str(d), "-o", str(out)]) == 0
    page = out.read_text()
    assert "<title>gptscope report: 20261130-002316 (gptscope)</title>" in page
    assert "<h1>20261130-002316 (gptscope)</h1>" in page
