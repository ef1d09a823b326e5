"""What every page shares: the logs root, the process-wide registry, safe text."""
from __future__ import annotations

import argparse
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from app.discovery import Discovery, RunFile, discover
from app.live import LiveRegistry, Tracked
from app.paths import PathRefused, display_name, logs_root, resolve_inside


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The dashboard's own arguments (``streamlit run app/dashboard.py -- --logs DIR``)."""
    p = argparse.ArgumentParser(prog="app/dashboard.py", add_help=False)
    p.add_argument("--logs", default=None, help="logs root (default: $GPTSCOPE_LOGS or ./logs)")
    args, _ = p.parse_known_args(argv)  # under AppTest, argv is pytest's
    return args


@st.cache_resource(show_spinner=False, on_release=lambda reg: reg.stop())
def get_registry(root: str) -> LiveRegistry:
    """One registry (followers + watchdog observer) per logs root, for the whole process."""
    return LiveRegistry(Path(root))


@dataclass
class Context:
    """The logs root and its registry, handed to every page."""
    root: Path
    registry: LiveRegistry

    def discover(self) -> Discovery:
        """The runs under the root; walked again only when files come or go (the registry
        keeps the listing)."""
        return self.registry.listing(lambda: discover(self.root))

    def resolve(self, name: str) -> Path:
        """A run name (path relative to the root) to a file; PathRefused if not allowed."""
        return resolve_inside(self.root, name)

    def name_of(self, path: Path) -> str:
        return display_name(path, self.root)

    def open(self, name: str) -> tuple[Tracked | None, str | None]:
        """The followed file of a run name, read up to date; or (None, why not)."""
        try:
            path = self.resolve(name)
        except PathRefused as e:
            return None, f"refused: {e}"
        # a run already read needs no stat here (its follower notices a vanished file)
        if self.registry.tracked(path).run is None and not path.exists():  # a dir: scalars
            return None, f"{name}: no such file in the logs root"
        return self.registry.refresh(path), None


def context(root_arg: str | None) -> Context:
    root = logs_root(root_arg)
    return Context(root, get_registry(str(root)))


def run_file(ctx: Context, name: str, disc: Discovery | None = None) -> RunFile | None:
    """The RunFile of a run name (from the listing, else built from the file itself)."""
    for rf in (disc.runs if disc else []):
        if rf.name == name:
            return rf
    try:
        p = ctx.resolve(name)
        st_ = p.stat()
    except (PathRefused, OSError):
        return None
    kind = "events" if p.name == "events.jsonl" else "log"
    return RunFile(p, name, kind, st_.st_mtime, st_.st_size)


def label(name: str) -> str:
    """Short run label for legends: the run folder of an events file, else the file name."""
    return name[: -len("/events.jsonl")] if name.endswith("/events.jsonl") else name


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$&=\"'])")


def md_escape(text: Any) -> str:
    """Log-derived text made inert for st.markdown: every Markdown (and Streamlit directive,
    LaTeX, HTML) character is backslash-escaped, so it shows as typed and nothing loads."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def now() -> float:
    return time.time()
