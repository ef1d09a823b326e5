"""The run table as a control: ticking rows overlays runs (kept by run name, so a new run on
top does not move the selection), hiding runs and bringing them back, and the sidebar's
multiselect and name filter agreeing with the table."""
from __future__ import annotations

import os

import pytest

from app.state import TABLE, merge_ticked
from tests.app import _runs as R
from tests.app.test_dashboard import app, root, run_title, runs_table  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def three_runs(root):
    """a (oldest), b, c (newest): listed c, b, a."""
    for i, name in enumerate("abc"):
        path = R.write(root / name / "events.jsonl", R.events(name, 5 + i, ended=True))
        os.utime(path, (R.T0 + i, R.T0 + i))


def tick(at, rows: list[int]):
    at.session_state[TABLE] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def table_widget(at):
    return next(d for d in at.main.dataframe if d.key == TABLE)


def ticked(at) -> list[str]:
    """The run names of the rows the table shows ticked."""
    rows = at.session_state[TABLE]["selection"]["rows"]
    return [runs_table(at)["run"].iloc[i] for i in rows]


def test_merge_keeps_filtered_out_runs_and_the_order():
    assert merge_ticked(["x", "b"], ["a", "b", "c"], ["a", "b"]) == ["x", "b", "a"]
    assert merge_ticked(["x", "b"], ["a", "b", "c"], []) == ["x"]
    assert merge_ticked([], ["a"], ["a"]) == ["a"]


def test_ticking_rows_overlays_runs_and_the_sidebar_agrees(root, repo_root):
    three_runs(root)
    at = app(repo_root)
    assert runs_table(at)["run"].tolist() == ["c/events.jsonl", "b/events.jsonl",
                                              "a/events.jsonl"]
    assert ticked(at) == ["c/events.jsonl"]           # following the newest
    tick(at, [0, 2])
    assert at.sidebar.multiselect[0].value == ["c/events.jsonl", "a/events.jsonl"]
    assert run_title(at) == "2 runs overlaid"
    assert "Following" not in " ".join(c.value for c in at.sidebar.caption)
    # the sidebar changes the table's ticks too
    at.sidebar.multiselect[0].set_value(["b/events.jsonl"]).run()
    assert ticked(at) == ["b/events.jsonl"] and run_title(at) == "b"


def test_a_new_run_on_top_keeps_the_selection_by_name(root, repo_root):
    three_runs(root)
    at = app(repo_root)
    tick(at, [1])                                      # b
    assert at.sidebar.multiselect[0].value == ["b/events.jsonl"]
    path = R.write(root / "d" / "events.jsonl", R.events("d", 4, ended=True))
    os.utime(path, (R.T0 + 10, R.T0 + 10))
    at.run()
    assert runs_table(at)["run"].iloc[0] == "d/events.jsonl"
    assert at.sidebar.multiselect[0].value == ["b/events.jsonl"]   # not row 1 (now c)
    assert ticked(at) == ["b/events.jsonl"]
    assert table_widget(at).value["run"].tolist()[1] == "c/events.jsonl"


def test_filter_keeps_hidden_rows_selected(root, repo_root):
    three_runs(root)
    at = app(repo_root)
    tick(at, [0, 1])                                   # c, b
    at.text_input(key="run_filter").set_value("a/").run()
    assert runs_table(at)["run"].tolist() == ["a/events.jsonl"]
    assert ticked(at) == []
    tick(at, [0])                                      # add a; c and b stay selected
    assert at.sidebar.multiselect[0].value == ["c/events.jsonl", "b/events.jsonl",
                                               "a/events.jsonl"]
    assert run_title(at) == "3 runs overlaid"


def test_hide_selected_and_show_again(root, repo_root):
    three_runs(root)
    at = app(repo_root)
    tick(at, [0, 1])                                   # c, b
    at.button(key="hide_selected").click().run()
    assert not at.exception, at.exception
    assert runs_table(at)["run"].tolist() == ["a/events.jsonl"]
    assert at.sidebar.multiselect[0].value == []
    assert at.sidebar.multiselect[0].options == ["a"]          # labels; hidden ones gone
    hidden = next(e for e in at.main.expander if e.label.startswith("Hidden runs"))
    assert hidden.label == "Hidden runs (2)"
    assert {t.value for t in hidden.text} == {"c", "b"}
    at.button(key="unhide-b/events.jsonl").click().run()
    assert runs_table(at)["run"].tolist() == ["b/events.jsonl", "a/events.jsonl"]
    at.button(key="unhide_all").click().run()
    assert runs_table(at)["run"].tolist() == ["c/events.jsonl", "b/events.jsonl",
                                              "a/events.jsonl"]
    assert not [e for e in at.main.expander if e.label.startswith("Hidden runs")]
