"""``RunBuilder`` lives in analyzer/run.py, beside the Run it makes (``Run.from_events`` is a
thin wrapper over it, and two modules would import each other). This name stays until the
last imports of ``analyzer.builder`` (analyzer/parsers/jsonl.py and its tests) move."""
from analyzer.run import RunBuilder

__all__ = ["RunBuilder"]
