"""The dashboard reads only inside its logs root, binds to localhost by default, and never
renders log text as HTML; the analyzer's HTML report escapes it too.

Hostile input: run folders and event fields holding ``<script>`` and ``<img onerror>``,
paths with ``..``, absolute paths, symlinks (file and directory) pointing out of the root,
a secret log outside the root that must never reach the page."""
from __future__ import annotations

import os
import re
import tomllib

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import analyzer
from analyzer.diagnostics import run_all
from analyzer.report import render_html
from app.launch import dashboard_command, parse_args
from gptscope.schema import make_event
from tests.app import _runs as R

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(2)>"
SECRET = "SECRET-7f3a9c"
# element types that could carry HTML or a foreign page into the browser
UNSAFE_TYPES = {"html", "iframe", "components", "component_instance", "_unknown_"}


@pytest.fixture
def root(logs_root):
    return logs_root  # tests/conftest.py


def _app(repo_root, run: str | None = None) -> AppTest:
    at = AppTest.from_file(str(repo_root / "app" / "dashboard.py"), default_timeout=60)
    if run is not None:
        at.query_params["run"] = run
    at.run()
    assert not at.exception, at.exception
    return at


def _elements(node):
    for el in node:
        yield el
        children = getattr(el, "children", None)
        if children:
            yield from _elements(children.values() if isinstance(children, dict) else children)


def _texts(at: AppTest) -> list[str]:
    """Everything the page shows as text (markdown, captions, alerts, tables, code, json)."""
    out = []
    for el in list(_elements(at.main)) + list(_elements(at.sidebar)):
        value = getattr(el, "value", None)
        if value is not None and type(el).__name__ not in ("Button",):
            out.append(str(value) if not hasattr(value, "to_string") else value.to_string())
        for attr in ("label", "body"):
            if isinstance(getattr(el, attr, None), str):
                out.append(getattr(el, attr))
    return out


def _assert_no_html(at: AppTest) -> None:
    for el in list(_elements(at.main)) + list(_elements(at.sidebar)):
        proto = getattr(el, "proto", None)
        assert not getattr(proto, "allow_html", False), el
        assert getattr(el, "type", "") not in UNSAFE_TYPES, el
        if type(el).__name__ in ("Markdown", "Caption", "Heading", "Title", "Subheader",
                                 "Header", "Warning", "Info", "Error", "Success"):
            value = str(getattr(el, "value", ""))
            # log text goes through md_escape: '<' arrives as '\<' and shows as typed
            assert not re.search(r"(?<!\\)<(script|img)", value), value


def _hostile_run(root):
    evs = R.events("x", 60, nan_at=30)
    evs[0]["config"] = {"learning_rate": 1e-3, "note": SCRIPT}
    evs += [make_event("metric", "x", 40, R.T0 + 5, name=IMG, value=0.5),
            make_event("checkpoint", "x", 40, R.T0 + 5, path=SCRIPT, val_loss=2.0),
            make_event("run_end", "x", 59, R.T0 + 9, status="failed", error=SCRIPT, steps=59,
                       wall_s=9.0)]
    path = R.write(root / IMG / "events.jsonl", evs)
    with open(path, "a") as f:   # unreadable lines are shown as samples
        f.write(SCRIPT + "\n" + IMG + "\n")
    return path


def test_log_text_is_never_rendered_as_html(root, repo_root):
    _hostile_run(root)
    (root / "train.log").write_text(f"{SCRIPT}\nn_layer = 2\nwandb_run_name = '{IMG}'\n"
                                    "iter 0: loss 4.2654, time 29.28ms, mfu 1.00%\n"
                                    f"{IMG} {SCRIPT}\niter 10: loss 3.1462, time 10.69ms, "
                                    "mfu 34.84%\n")
    for run in (None, f"{IMG}/events.jsonl", "train.log"):
        at = _app(repo_root, run)
        _assert_no_html(at)
        shown = "\n".join(_texts(at))
        assert SCRIPT.replace("<", "\\<").replace("(", "\\(") in shown or "train.log" in shown
    # the findings say what the log said, escaped: the failure's message is visible as text
    at = _app(repo_root, f"{IMG}/events.jsonl")
    assert any("\\<script\\>alert\\(1\\)" in t for t in _texts(at))


def test_the_html_report_escapes_log_text(root, tmp_path):
    path = _hostile_run(root)
    run = analyzer.load(path)
    out = tmp_path / "report.html"
    render_html(run, run_all(run), out)
    page = out.read_text()
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def _outside(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.log"
    secret.write_text(f"wandb_run_name = '{SECRET}'\n"
                      "iter 0: loss 4.2654, time 29.28ms, mfu 1.00%\n"
                      "iter 10: loss 3.1462, time 10.69ms, mfu 34.84%\n")
    R.write(outside / "run" / "events.jsonl", R.events(SECRET, 5, ended=True))
    return outside


@pytest.mark.parametrize("wanted", ["../outside/secret.log", "{outside}/secret.log",
                                    "dirlink/secret.log", "filelink.log",
                                    "dirlink/run/events.jsonl", "uploads/../../outside/secret.log",
                                    "./../outside/run/events.jsonl", "secret.log\x00.txt"])
def test_nothing_outside_the_root_reaches_the_page(root, repo_root, tmp_path, wanted):
    outside = _outside(tmp_path)
    os.symlink(outside, root / "dirlink")
    os.symlink(outside / "secret.log", root / "filelink.log")
    R.write(root / "mine" / "events.jsonl", R.events("mine", 5, ended=True))
    at = _app(repo_root, wanted.format(outside=outside))
    assert any("refused" in w.value for w in at.main.warning), [w.value for w in at.main.warning]
    assert not any(SECRET in t for t in _texts(at))
    # the run list shows the run inside, never the links out
    assert at.main.dataframe[0].value["run"].tolist() == ["mine/events.jsonl"]


def test_open_a_log_refuses_paths_out_of_the_root(root, repo_root, tmp_path):
    outside = _outside(tmp_path)
    os.symlink(outside, root / "dirlink")
    at = _app(repo_root)
    at.switch_page("views/page_open.py").run()
    for path in ("../outside/secret.log", str(outside / "secret.log"), "dirlink/secret.log",
                 "~/secret.log"):
        at.text_input(key="open_path").input(path)
        at.button(key="open_button").click().run()
        assert not at.exception
        assert at.error and ("Refused" in at.error[0].value or "no such file"
                             in at.error[0].value), path
        assert not any(SECRET in t for t in _texts(at))


def test_localhost_by_default(repo_root):
    config = tomllib.loads((repo_root / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    args, _ = parse_args([])
    cmd = dashboard_command("logs", args.address, 8501)
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1"
