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
VIEW_LIVE = "_view_live"

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
