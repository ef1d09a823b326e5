"""Log parsers, diagnostics and reports for GPT training runs (no torch needed).

    import analyzer
    run = analyzer.load("logs/run1")          # or any supported log file
    f = analyzer.Follower("train.log")        # follow a log while it is written

Names are imported on first use, so ``import analyzer`` (and ``python -m analyzer --help``)
stays quick. ``analyzer.load`` is the function ``load`` of analyzer/loader.py.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"load": "analyzer.loader", "Follower": "analyzer.follow",
         "LazyEvents": "analyzer.follow", "Update": "analyzer.follow",
         "LoadError": "analyzer.loader", "UnknownFormat": "analyzer.loader",
         "RunBuilder": "analyzer.run", "ParseStats": "analyzer.run", "Run": "analyzer.run"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
