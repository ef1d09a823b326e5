"""Log parsers, diagnostics and reports for GPT training runs (no torch needed).

    import analyzer
    run = analyzer.load("logs/run1")          # or any supported log file
    f = analyzer.Follower("train.log")        # follow a log while it is written

Names are imported on first use, so ``import analyzer`` (and ``python -m analyzer --help``)
stays quick. ``analyzer.load`` is the module analyzer/load.py, callable as its function.
"""
from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"Follower": "analyzer.follow", "LazyEvents": "analyzer.follow",
         "Update": "analyzer.follow", "LoadError": "analyzer.load",
         "UnknownFormat": "analyzer.load", "RunBuilder": "analyzer.builder",
         "ParseStats": "analyzer.run", "Run": "analyzer.run"}

__all__ = ["load", *_LAZY]


def __getattr__(name: str) -> Any:
    if name == "load":  # importing the submodule also sets it as this attribute
        return importlib.import_module("analyzer.load")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")
