"""Every event the stdout parsers emit on the real logs is what make_event would build."""
from __future__ import annotations

import importlib

import pytest

from gptscope.schema import make_event, validate
from tests.analyzer._parse_util import events

FOLDERS = {"nanogpt": "nanogpt", "buildnanogpt": "build-nanogpt", "llmc": "llmc",
           "modded": "modded", "nanochat": "nanochat"}


@pytest.mark.parametrize("name", list(FOLDERS))
def test_events_are_schema_valid_and_canonical(realdata, name):
    mod = importlib.import_module(f"analyzer.parsers.{name}")
    folder = realdata / ("modded-nanogpt" if name == "modded" else FOLDERS[name])
    seen = set()
    for path in sorted(folder.iterdir()):
        evs = events(mod, path.read_bytes())
        iters = [e for e in evs if e["type"] == "iter"]
        # all other events, and a sample of the (uniform, numerous) iterations
        for ev in [e for e in evs if e["type"] != "iter"] + iters[:200] + iters[200::97]:
            assert validate(ev) == [], (path.name, ev)
            fields = {k: v for k, v in ev.items() if k not in ("type", "v", "run_id", "time",
                                                               "step")}
            same = make_event(ev["type"], ev["run_id"], ev["step"], ev["time"], **fields)
            assert list(same.items()) == list(ev.items()), (path.name, ev)  # order too
            seen.add(ev["type"])
    assert {"run_start", "iter"} <= seen
