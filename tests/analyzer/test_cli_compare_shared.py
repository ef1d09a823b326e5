"""`compare` says when both runs' loss spikes at the same step (issue #15, root causes): with
different seeds or code, the batch at that position in the data is the common factor."""
from __future__ import annotations

import json
import math

from analyzer.cli import main


def _log(path, spike_at: int | None, wobble: float) -> str:
    lines = []
    for i in range(120):
        loss = 4.0 * math.exp(-i / 60) + 1.0 + wobble * math.sin(i)
        if i == spike_at:
            loss *= 3.0
        lines.append(f"iter {i}: loss {loss:.4f}, time 20.00ms, mfu 5.00%")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_compare_names_a_spike_at_the_same_step_in_both_runs(tmp_path, capsys):
    a, b = _log(tmp_path / "a.log", 70, 0.01), _log(tmp_path / "b.log", 70, 0.02)
    assert main(["compare", a, b]) == 0
    out = capsys.readouterr().out
    assert "shared spike: The loss spiked at step 70 in 2 runs" in out
    assert main(["compare", a, b, "--json"]) == 0
    (f,) = json.loads(capsys.readouterr().out)["shared_spikes"]
    assert f["code"] == "shared_spike" and f["evidence"]["step"] == 70


def test_compare_is_silent_when_only_one_run_spikes(tmp_path, capsys):
    a, b = _log(tmp_path / "a.log", 70, 0.01), _log(tmp_path / "b.log", None, 0.02)
    assert main(["compare", a, b]) == 0
    assert "shared spike" not in capsys.readouterr().out
