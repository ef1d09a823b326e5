"""The dashboard's pages through Streamlit's AppTest (no browser; charts are opaque)."""
from __future__ import annotations

import os
import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.app import _runs as R

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def root(logs_root):
    return logs_root  # tests/conftest.py


def app(repo_root, query: dict | None = None) -> AppTest:
    """The dashboard's Runs page, run until the run list has read every listed run."""
    at = AppTest.from_file(str(repo_root / "app" / "dashboard.py"), default_timeout=60)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return settled(at)


def rerun_until(at: AppTest, done, what: str, timeout: float = 30.0, rerun=None) -> AppTest:
    """Run the page again until ``done(at)`` holds, for at most ``timeout`` seconds.

    For what another thread brings: watchdog's events (an append, a deleted file), the run
    list's loader thread (a long first read), a diagnostics pass in the background. They
    take milliseconds on a quiet machine and longer on a busy one, so a test waits for the
    state it needs, never for a fixed time."""
    deadline = time.monotonic() + timeout
    while not done(at):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.05)    # the other thread's turn; then look again
        (rerun or AppTest.run)(at)
        assert not at.exception, at.exception
    return at


def settled(at: AppTest) -> AppTest:
    """Rerun until no run in the run list reads "loading…" (read in the background)."""
    def done(at: AppTest) -> bool:
        tables = [d.value for d in at.main.dataframe
                  if {"run", "status", "updated"} <= set(d.value.columns)]
        return not tables or "loading…" not in tables[0]["status"].tolist()
    return rerun_until(at, done, "the run list's loader thread")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.main.metric if m.label == label)


def runs_table(at: AppTest):
    """The run list (the page's other tables are the details and comparisons)."""
    return next(d.value for d in at.main.dataframe
                if {"run", "status", "updated"} <= set(d.value.columns))


def run_title(at: AppTest) -> str:
    """The heading of the run view (the first subheader; "Runs" heads the run list)."""
    return next(h.value for h in at.main.subheader if h.value != "Runs")


def panels(at: AppTest) -> list[str]:
    """The titles of the chart panels (one linked Vega-Lite chart holds them all)."""
    import json
    charts = [e for e in at.main if getattr(e, "type", None) == "vega_lite_chart"]
    return [p["title"] for e in charts for p in json.loads(e.proto.spec).get("vconcat", [])]


def findings(at: AppTest) -> list[str]:
    """The compact finding rows (expander labels), in page order."""
    return [e.label for e in at.main.expander if e.label.startswith("**")]


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.main.markdown] + [m.value for m in at.main.caption]
    parts += findings(at)
    parts += [m.value for m in at.main.warning] + [m.value for m in at.main.info]
    return "\n".join(parts)


def test_empty_logs_root_says_how_to_start(root, repo_root):
    at = app(repo_root)
    assert "No runs yet" in at.main.info[0].value
    assert at.sidebar.text[0].value == str(root.resolve())


def test_run_list_header_findings_and_charts(root, repo_root):
    R.write(root / "old" / "events.jsonl", R.events("old", 50, ended=True))
    os.utime(root / "old" / "events.jsonl", (R.T0, R.T0))
    R.write(root / "nan" / "events.jsonl", R.events("nan", 300, nan_at=120, ended=True))
    at = app(repo_root)
    table = runs_table(at)
    assert table["run"].tolist() == ["nan/events.jsonl", "old/events.jsonl"]  # newest first
    assert table["status"].tolist() == ["completed", "completed"]
    assert table["step"].tolist() == ["299", "49"]
    # the newest run is followed by default
    assert at.sidebar.multiselect[0].value == ["nan/events.jsonl"]
    assert run_title(at) == "nan"
    assert metric(at, "step") == "299" and metric(at, "status") == "completed"
    assert metric(at, "MFU (steady median)") == "25.0%"
    assert metric(at, "tokens/s (steady median)") == "10.24k"
    assert metric(at, "ms/step (steady median)") == "100.0"   # the 400 ms eval steps left out
    # the injected NaN is a finding, with its explanation and a button to its steps
    assert "nonfinite\\_loss" in texts(at)
    assert any(b.label == "Show these steps on the charts" for b in at.main.button)
    assert {"training loss", "eval losses", "time per iteration", "model FLOPs utilisation",
            "throughput", "learning rate", "gradient norm"} <= set(panels(at))


def test_findings_are_most_severe_first(root, repo_root):
    R.write(root / "r" / "events.jsonl", R.events("r", 300, nan_at=120, ended=True))
    at = app(repo_root)
    severities = [line.split("**")[1] for line in findings(at)]
    rank = {"error": 2, "warning": 1, "info": 0}
    assert severities and severities == sorted(severities, key=lambda s: -rank[s])


def test_widgets_rerender_without_errors(root, repo_root):
    R.write(root / "r" / "events.jsonl", R.events("r", 200, nan_at=50, ended=True))
    at = app(repo_root)
    assert at.sidebar.radio[0].options == ["step", "wall time", "tokens"]
    assert at.sidebar.slider[0].value == 0.6
    for axis in ("time", "tokens"):
        at.sidebar.radio[0].set_value(axis).run()
        assert not at.exception
    assert not any("Not on the tokens axis" in c.value for c in at.main.caption)
    at.sidebar.toggle[0].set_value(True).run()        # log scale
    at.sidebar.slider[0].set_value(0.0).run()
    assert not at.exception
    assert len(panels(at)) >= 6


def test_clicking_a_finding_zooms_to_its_steps(root, repo_root):
    R.write(root / "r" / "events.jsonl", R.events("r", 300, nan_at=120, ended=True))
    at = app(repo_root)
    button = next(b for b in at.main.button if b.label == "Show these steps on the charts")
    assert "with the steps around them" not in texts(at)
    button.click().run()
    assert not at.exception
    assert any("Showing steps" in i.value for i in at.main.info)
    next(b for b in at.main.button if b.label == "Show the whole run").click().run()
    assert not any("Showing steps" in i.value for i in at.main.info)


def test_a_tick_shows_appended_steps(root, repo_root):
    path = R.write(root / "live" / "events.jsonl", R.events("live", 10)[:-1])
    at = app(repo_root)
    assert metric(at, "status") == "running" and metric(at, "step") == "8"
    R.write(path, [R.it("live", s, 1.0) for s in range(9, 15)], mode="a")
    # watchdog marks the file; AppTest does not fire run_every: run again until it has
    rerun_until(at, lambda at: metric(at, "step") == "14"
                and runs_table(at)["step"].tolist() == ["14"], "the appended steps")


def test_follows_the_newest_run_until_the_user_picks(root, repo_root):
    R.write(root / "a" / "events.jsonl", R.events("a", 5))
    at = app(repo_root)
    assert at.sidebar.multiselect[0].value == ["a/events.jsonl"]
    R.write(root / "b" / "events.jsonl", R.events("b", 5))
    at.run()
    assert at.sidebar.multiselect[0].value == ["b/events.jsonl"]
    at.sidebar.multiselect[0].set_value(["a/events.jsonl", "b/events.jsonl"]).run()
    assert not at.exception
    R.write(root / "c" / "events.jsonl", R.events("c", 5))
    at.run()
    assert at.sidebar.multiselect[0].value == ["a/events.jsonl", "b/events.jsonl"]
    assert run_title(at) == "2 runs overlaid"
    compared = next(d.value for d in at.main.dataframe if "best val" in d.value.columns)
    assert compared["run"].tolist() == ["a", "b"]            # one row per run, in order


def test_runs_from_the_url(root, repo_root):
    R.write(root / "a" / "events.jsonl", R.events("a", 5, ended=True))
    R.write(root / "b" / "events.jsonl", R.events("b", 7, ended=True))
    at = app(repo_root, {"run": "a/events.jsonl"})
    assert run_title(at) == "a" and metric(at, "step") == "4"


@pytest.mark.parametrize("wanted", ["../outside.log", "/etc/passwd", "link.log"])
def test_paths_outside_the_root_are_refused_with_a_message(root, repo_root, wanted):
    (root.parent / "outside.log").write_text("iter 0: loss 4.0, time 1.0ms, mfu 1.00%\n")
    os.symlink(root.parent / "outside.log", root / "link.log")
    at = app(repo_root, {"run": wanted})
    assert any("refused" in w.value for w in at.main.warning)


def test_malformed_and_unknown_files_show_messages(root, repo_root):
    path = R.write(root / "r" / "events.jsonl", R.events("r", 20, ended=True))
    with open(path, "a") as f:
        f.write("{not json\n" + "\x00garbage\n")
    (root / "notes.txt").write_text("shopping list\n" * 20_001)   # past format detection
    (root / "short.txt").write_text("dear diary\n")           # static, nothing recognised
    (root / "empty.log").write_text("")
    (root / "blob.log").write_bytes(bytes(range(256)) * 4)    # binary from the first byte
    (root / "young.log").write_text("starting up...\n")       # may still become a log
    for p in ("notes.txt", "short.txt", "empty.log", "blob.log"):
        os.utime(root / p, (R.T0, R.T0))
    at = app(repo_root)
    table = runs_table(at)
    no = "not a training log"
    assert table.set_index("run")["status"].to_dict() == {
        "r/events.jsonl": "completed", "notes.txt": no, "short.txt": no, "empty.log": no,
        "blob.log": no, "young.log": "waiting"}
    at.sidebar.multiselect[0].set_value(["r/events.jsonl"]).run()
    assert metric(at, "step") == "19"          # the bad lines are skipped, and counted
    at = app(repo_root, {"run": "notes.txt"})
    assert any("not a training log" in w.value for w in at.main.warning)
    at = app(repo_root, {"run": "young.log"})
    assert any("no line in a known log format yet" in i.value for i in at.main.info)


def test_small_files_are_read_in_the_tick_and_long_reads_say_loading(root, repo_root,
                                                                      monkeypatch):
    from app.views import runs
    monkeypatch.setattr(runs, "READ_BUDGET_S", 0.0)    # as if the machine were very busy
    R.write(root / "long" / "events.jsonl", R.events("long", 300, ended=True))   # 69 KB
    (root / "short.txt").write_text("dear diary\n")
    R.write(root / "small" / "events.jsonl", R.events("small", 20, ended=True))
    for i, p in enumerate(("long/events.jsonl", "short.txt", "small/events.jsonl")):
        os.utime(root / p, (R.T0 + i, R.T0 + i))
    at = AppTest.from_file(str(repo_root / "app" / "dashboard.py"), default_timeout=60)
    at.query_params["run"] = "small/events.jsonl"      # the view reads no long run here
    at.run()
    statuses = runs_table(at).set_index("run")["status"].to_dict()
    assert statuses == {"small/events.jsonl": "completed", "short.txt": "not a training log",
                        "long/events.jsonl": "loading…"}
    statuses = runs_table(settled(at)).set_index("run")["status"].to_dict()
    assert statuses["long/events.jsonl"] == "completed"


def test_a_vanishing_file_shows_a_message(root, repo_root):
    path = R.write(root / "r" / "events.jsonl", R.events("r", 20))
    at = app(repo_root, {"run": "r/events.jsonl"})
    path.unlink()
    rerun_until(at, lambda at: any("gone" in w.value for w in at.main.warning),
                "the deleted file's message")


def test_log_text_is_escaped_markdown(root, repo_root):
    name = "![img](x.png) <b>b</b> :red[r] $y$"    # a run folder named by a prankster
    R.write(root / name / "events.jsonl", R.events("x", 5, ended=True))
    at = app(repo_root)
    title = run_title(at)
    assert title == ("\\!\\[img\\]\\(x\\.png\\) \\<b\\>b\\</b\\> \\:red\\[r\\] "
                     "\\$y\\$")


def test_no_html_from_the_app(repo_root):
    for path in (repo_root / "app").rglob("*.py"):
        text = path.read_text()
        assert "unsafe_allow_html" not in text and "st.html" not in text, path


def test_open_a_log_page(root, repo_root):
    (root / "logs").mkdir()
    R.write(root / "deep" / "x" / "y" / "z" / "events.jsonl", R.events("z", 5, ended=True))
    at = app(repo_root)
    at.switch_page("views/page_open.py").run()
    assert not at.exception and at.title[0].value == "Open a log"
    at.text_input(key="open_path").input("../../etc/passwd")
    at.button(key="open_button").click().run()
    assert "Refused" in at.error[0].value
    at.text_input(key="open_path").input("nope.log")
    at.button(key="open_button").click().run()
    assert "no such file" in at.error[0].value
    at.text_input(key="open_path").input("deep/x/y/z/events.jsonl")
    at.button(key="open_button").click().run()
    assert not at.exception
    assert at.title[0].value == "gptscope"     # back on the Runs page, with that run
    assert run_title(at) == "deep/x/y/z"


NANOGPT_LOG = b"""tokens per iteration will be: 16,384
found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)
Initializing a new model from scratch
number of parameters: 10.65M
num decayed parameter tensors: 26, with 10,740,096 parameters
num non-decayed parameter tensors: 13, with 4,992 parameters
using fused AdamW: True
step 0: train loss 4.2874, val loss 4.2823
iter 0: loss 4.2654, time 29590.28ms, mfu -100.00%
iter 10: loss 3.1462, time 10.69ms, mfu 34.84%
iter 20: loss 2.7320, time 10.71ms, mfu 34.84%
iter 30: loss nan, time 10.80ms, mfu 34.82%
iter 40: loss nan, time 10.72ms, mfu 34.83%
"""


def test_upload_a_nanogpt_log(root, repo_root):
    at = app(repo_root)
    at.switch_page("views/page_open.py").run()
    at.file_uploader[0].set_value(("my run.log", NANOGPT_LOG, "text/plain")).run()
    next(b for b in at.button if b.label == "Analyse the uploaded log").click().run()
    assert not at.exception
    assert (root / "uploads" / "my_run.log").read_bytes() == NANOGPT_LOG
    assert at.title[0].value == "gptscope"
    assert run_title(at) == "uploads/my\\_run\\.log"
    assert metric(at, "step") == "40"
    # a file written seconds ago counts as running: its diagnostics run in the background
    # (rerun on the Runs page: AppTest stays on the page it ran, here Open a log)
    rerun_until(at, lambda at: "nonfinite\\_loss" in texts(at), "the background findings",
                rerun=lambda at: at.switch_page("views/page_runs.py").run())
    box = next(e for e in at.main.expander if e.label.startswith("Run details"))
    details = box.dataframe[0].value.set_index("field")["value"]
    assert details["format"] == "nanogpt"


def test_a_real_nanogpt_log_that_went_nan(root, repo_root, realdata):
    src = realdata / "nanogpt" / "chenzihua-termux-cpu-nan-at-425.log"
    (root / "termux.log").write_bytes(src.read_bytes())
    os.utime(root / "termux.log", (R.T0, R.T0))
    at = app(repo_root)
    row = runs_table(at).iloc[0]
    assert (row["run"], row["status"], row["format"]) == ("termux.log", "ended", "nanogpt")
    assert "nonfinite\\_loss" in texts(at)
    assert "425" in texts(at)


def test_a_run_without_tokens_per_iteration_says_so_on_the_tokens_axis(root, repo_root):
    R.write(root / "r" / "events.jsonl", [R.start("r", tokens_per_iter=None)]
            + [R.it("r", s, 1.0) for s in range(5)] + [R.end("r", 4)])
    at = app(repo_root)
    at.sidebar.radio[0].set_value("tokens").run()
    assert any("Not on the tokens axis" in c.value and "r" in c.value for c in at.main.caption)


def test_an_upload_that_is_no_log_is_refused_and_uploads_can_be_removed(root, repo_root):
    at = app(repo_root)
    at.switch_page("views/page_open.py").run()
    at.file_uploader[0].set_value(("notes.txt", b"dear diary\n" * 30, "text/plain")).run()
    next(b for b in at.button if b.label == "Analyse the uploaded log").click().run()
    assert "not a training log" in at.error[0].value
    assert not (root / "uploads").exists()                  # nothing stored
    at.file_uploader[0].set_value(("my run.log", NANOGPT_LOG, "text/plain")).run()
    next(b for b in at.button if b.label == "Analyse the uploaded log").click().run()
    assert (root / "uploads" / "my_run.log").exists()
    at.switch_page("views/page_open.py").run()
    box = next(e for e in at.expander if e.label.startswith("Uploaded logs"))
    assert [t.value for t in box.text] == ["uploads/my_run.log"]
    next(b for b in box.button if b.label == "Remove").click().run()
    assert not at.exception and not (root / "uploads" / "my_run.log").exists()
    at.switch_page("views/page_runs.py").run()
    assert any("No runs yet" in i.value for i in at.main.info)   # gone from the run list
