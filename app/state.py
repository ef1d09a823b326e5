"""The dashboard's session state, in one place: its keys, defaults and changes.

Streamlit drops the state of a widget that a run does not draw, so values that must survive a
visit to another page are written back at the top of every run (``keep``). Views read the
controls through ``controls()`` and change the selection and zoom only through the functions
here, so the rules (picking runs stops following the newest; a new selection drops the zoom)
live in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

SEL = "runs_sel"        # selected run names (paths relative to the logs root), in order
AUTO = "runs_auto"      # True: follow the newest run as runs appear
ZOOM = "zoom"           # {"steps": (a, b), "code": finding code} while zoomed to a finding
HIDDEN = "runs_hidden"  # run names hidden from the run list
TABLE = "runs_table"    # the run table's selection widget (row positions)
_TABLE_IDS = "_runs_table_ids"    # run names of the table's rows, as last drawn
_TABLE_ROWS = "_runs_table_rows"  # the row positions the table was last told to tick
_RERUN = "_runs_rerun"  # a control inside the run list changed the selection
VIEW_LIVE = "_view_live"
PAGE_RUN = "_page_run"  # a whole-page run is under way (not a fragment's own rerun)

DEFAULTS: dict[str, Any] = {"x_axis": "step", "smoothing": 0.6, "log_y": False,
                            "outliers": False, "live": True}
PERSIST = (SEL, HIDDEN, *DEFAULTS)


@dataclass(frozen=True)
class Controls:
    axis: str
    smoothing: float
    log_y: bool
    ignore_outliers: bool
    live: bool


def keep() -> None:
    """Write widget values back, so they survive a visit to another page."""
    for key in PERSIST:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def init(names: list[str]) -> None:
    """First visit: the runs named in the URL, else follow the newest run as it changes."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)
    st.session_state.setdefault(HIDDEN, [])
    if SEL not in st.session_state:
        wanted = st.query_params.get_all("run")
        st.session_state[AUTO] = not wanted
        st.session_state[SEL] = wanted or names[:1]
    elif st.session_state.get(AUTO) and names and st.session_state[SEL] != names[:1]:
        st.session_state[SEL] = names[:1]


def controls() -> Controls:
    s = st.session_state
    return Controls(str(s["x_axis"]), float(s["smoothing"]), bool(s["log_y"]),
                    bool(s["outliers"]), bool(s["live"]))


def selected() -> list[str]:
    return list(st.session_state.get(SEL) or [])


def following() -> bool:
    return bool(st.session_state.get(AUTO))


def manual() -> None:
    """The user picked runs: stop following the newest, drop the zoom."""
    st.session_state[AUTO] = False
    st.session_state.pop(ZOOM, None)


def select(names: list[str]) -> None:
    if list(names) != selected():
        st.session_state[SEL] = list(names)
        manual()


def merge_ticked(current: list[str], shown: list[str], ticked: list[str]) -> list[str]:
    """The selection after the table's ticks changed: runs the table does not show (filtered
    out by name) stay selected; shown ones are selected iff ticked; the order of the runs
    already selected is kept (it decides their colours), newly ticked ones come last."""
    shown_set, ticked_set = set(shown), set(ticked)
    kept = [n for n in current if n not in shown_set or n in ticked_set]
    return kept + [n for n in ticked if n not in kept]


def table_rows(ids: list[str]) -> None:
    """Tick the table's rows of the selected runs. The table's rows change order as runs
    arrive (newest first), so the selection is kept by run name and the row positions are
    worked out again at every draw; the names are kept to read the user's ticks back."""
    sel = set(selected())
    rows = [i for i, n in enumerate(ids) if n in sel]
    st.session_state[_TABLE_IDS] = list(ids)
    st.session_state[_TABLE_ROWS] = rows
    st.session_state[TABLE] = {"selection": {"rows": rows, "columns": [], "cells": []}}


def _ticked_rows() -> list[int] | None:
    value = st.session_state.get(TABLE)
    try:
        return [int(r) for r in value["selection"]["rows"]]
    except (TypeError, KeyError):
        return None


def table_changed() -> bool:
    """The user ticked or unticked rows since the table was last drawn."""
    rows = _ticked_rows()
    return rows is not None and _TABLE_ROWS in st.session_state and \
        sorted(rows) != sorted(st.session_state[_TABLE_ROWS])


def apply_table() -> None:
    """Take the user's ticks into the selection (before the sidebar's multiselect is drawn:
    a widget's state cannot change after it is drawn in the same run)."""
    if not table_changed():
        return
    ids = st.session_state.get(_TABLE_IDS) or []
    ticked = [ids[i] for i in sorted(_ticked_rows() or []) if 0 <= i < len(ids)]
    select(merge_ticked(selected(), ids, ticked))
    st.session_state[_TABLE_ROWS] = sorted(_ticked_rows() or [])


def hide(names: list[str]) -> None:
    """Hide runs from the list; a hidden run is no longer overlaid."""
    gone = set(names)
    st.session_state[HIDDEN] = hidden() + [n for n in names if n not in hidden()]
    if gone & set(selected()):
        select([n for n in selected() if n not in gone])
    st.session_state[_RERUN] = True


def unhide(names: list[str]) -> None:
    back = set(names)
    st.session_state[HIDDEN] = [n for n in hidden() if n not in back]
    st.session_state[_RERUN] = True


def rerun_wanted() -> bool:
    """A control of the run list changed the selection: the whole page must be drawn
    again (a control inside a fragment reruns only the fragment)."""
    return bool(st.session_state.pop(_RERUN, False))


def zoom() -> dict[str, Any] | None:
    return st.session_state.get(ZOOM)


def set_zoom(steps: tuple[int, int], code: str) -> None:
    st.session_state[ZOOM] = {"steps": (int(steps[0]), int(steps[1])), "code": code}


def clear_zoom() -> None:
    st.session_state.pop(ZOOM, None)


def hidden() -> list[str]:
    return list(st.session_state.get(HIDDEN) or [])


def view_live() -> bool:
    return bool(st.session_state.get(VIEW_LIVE))


def set_view_live(live: bool) -> None:
    st.session_state[VIEW_LIVE] = live


def page_run() -> bool:
    """Is this a run of the whole page (rather than a fragment rerunning alone)?"""
    return bool(st.session_state.get(PAGE_RUN))


def set_page_run(on: bool) -> None:
    st.session_state[PAGE_RUN] = on
