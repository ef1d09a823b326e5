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


# pieces of real lines, glued at random: a fuzz test that no input crashes a parser
_PIECES = ["iter 5: loss 2.0, time 1.0ms, mfu 3.00%", "step 10: train loss 1.0, val loss 2",
           "step     0 | loss: 10.9 | lr 8e-07 | norm: nan | dt: 2.0ms | tok/sec: 5",
           "step    1/19560 | loss 11.0 (+nanz)| norm 15.0 (+nanz)| lr 8.57e-07 | 4.2 ms",
           "step:1/6000 train_loss:11.0 train_time:24179ms step_avg:nanms", "s:0 tel:11.0",
           "step 00001/16704 (0.01%) | loss: 10.7 | dt: 629.00ms | mfu: 52.10",
           "Step 00250 | Validation bpb: 1.08", "val loss nan", "HellaSwag: 1/2 = 0.5",
           "validation loss: 5", "Traceback (most recent call last):", "  File \"x\"",
           "ValueError: x", "[CUDA ERROR] at file a.cu:1:", "slurmstepd: error: *** JOB 1 ON n "
           "CANCELLED AT t ***", "Resuming training from out", "tokens per iteration will be: 5",
           "| num_layers L | 12 |", "Overriding config with x.py:", "n_layer = 2", "...",
           "\r", "\x1b[31m", "> ", "2023-01-01 12:00:00 ", "\ufffd", ":", "|", "%", "nan", "-1",
           "1e309", "generating:", "---", "rank 0 sample 0: hi", "=" * 10, "x = (", ""]


@pytest.mark.parametrize("name", list(FOLDERS))
def test_no_input_crashes_a_parser(name):
    import random
    mod = importlib.import_module(f"analyzer.parsers.{name}")
    rng = random.Random(name)
    for _ in range(200):
        lines = ["".join(rng.choice(_PIECES) for _ in range(rng.randint(1, 3)))
                 for _ in range(rng.randint(1, 12))]
        parser = mod.Parser()
        evs = parser.feed(lines, 1) + parser.finish()
        assert all(validate(e) == [] for e in evs)
        assert not any(s[1].startswith("parser error") for s in parser.stats.samples), lines
        st = parser.stats
        assert st.lines == len(lines) and st.parsed + st.skipped <= st.lines
        mod.detect(lines)
