"""--tensorboard=true: the trainer writes its scalars as a TensorBoard event file beside
events.jsonl, read back here both by our reader and by tensorboard's own EventAccumulator."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from analyzer.loader import load
from trainer.config import ConfigError
from trainer.train import train

from .conftest import read_events

import tensorboard as _tb_extra  # noqa: E402,F401  in the dev extra: never skipped


def test_sink_writes_the_events_scalars(tiny):
    result = train(tiny.replace(tensorboard=True), stdout=None)
    run_dir = result.run_dir
    files = sorted(run_dir.glob("events.out.tfevents.*"))
    assert len(files) == 1
    events = read_events(run_dir)
    iters = [e for e in events if e["type"] == "iter"]
    evals = [e for e in events if e["type"] == "eval"]
    # the run directory is still read from events.jsonl ...
    assert load(run_dir).format == "gptscope"
    # ... and the event file holds the same series
    tb = load(files[0])
    assert tb.iters["step"].tolist() == [e["step"] for e in iters]
    np.testing.assert_array_equal(tb.iters["loss"].to_numpy(np.float32),
                                  np.array([e["loss"] for e in iters], np.float32))
    np.testing.assert_array_equal(tb.iters["time"].to_numpy(),
                                  np.array([e["time"] for e in iters]))
    assert tb.evals["step"].tolist() == [e["step"] for e in evals]
    from tensorboard.backend.event_processing import event_accumulator
    acc = event_accumulator.EventAccumulator(str(files[0]), size_guidance={"scalars": 0})
    acc.Reload()
    assert {"train/loss", "train/lr", "eval/loss"} <= set(acc.Tags()["scalars"])
    assert len(acc.Scalars("train/loss")) == len(iters)


def test_missing_package_is_one_config_error(tiny, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    monkeypatch.setitem(sys.modules, "tensorboard.compat.proto", None)
    with pytest.raises(ConfigError, match=r"tensorboard.*pip install 'gptscope\[tensorboard\]'"):
        train(tiny.replace(tensorboard=True), stdout=None)
