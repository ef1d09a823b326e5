"""Log parsers, diagnostics and reports for GPT training runs (no torch needed).

    import analyzer
    run = analyzer.load("logs/run1")          # or any supported log file
    f = analyzer.Follower("train.log")        # follow a log while it is written

``analyzer.load`` is the function; its module is ``sys.modules["analyzer.load"]`` (import
names from it with ``from analyzer.load import ...``).
"""
from analyzer.follow import Follower, LazyEvents, Update
from analyzer.load import LoadError, RunBuilder, UnknownFormat, load
from analyzer.run import ParseStats, Run

__all__ = ["Follower", "LazyEvents", "LoadError", "ParseStats", "Run", "RunBuilder",
           "UnknownFormat", "Update", "load"]
