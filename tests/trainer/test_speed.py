"""GPU speed paths checked on CPU: the device-side nan check (no per-step sync), the compile
phase leaves training unchanged, and the benchmark's figures are consistent."""
import io
import json
import math
import re
from pathlib import Path

import pytest
import torch

from trainer.bench import bench, percentile
from trainer.cli import main
from trainer.loop import Trainer
from trainer.optim import lr_at
from trainer.train import NonFiniteError, train

from .conftest import read_events
from .test_train import _poison


@pytest.fixture
def device_side(monkeypatch):
    """Make CPU runs take the CUDA code path: no host read per step, the update skipped by
    the fused AdamW kernel's found_inf, nan checks at log iterations."""
    init = Trainer.__init__

    def patched(self, *args, **kwargs):
        init(self, *args, **kwargs)
        assert self.optim_info.fused  # the device path needs the fused kernel
        self.sync_each_step = False

    monkeypatch.setattr(Trainer, "__init__", patched)


def _summary(run_dir):
    events = read_events(run_dir)
    return ({e["step"]: e["loss"] for e in events if e["type"] == "iter"},
            [(e["step"], e["kind"], e["action"]) for e in events if e["type"] == "anomaly"],
            [e["val_loss"] for e in events if e["type"] == "eval"])


def test_device_side_nan_skip_matches_the_per_step_check(tiny, monkeypatch, request):
    cfg = tiny.replace(nan_policy="skip", nan_patience=1, max_iters=24, lr_decay_iters=24)
    _poison(monkeypatch, {3, 4, 5, 20})
    sync_losses, sync_anoms, sync_evals = _summary(train(cfg.replace(run_id="sync"),
                                                         stdout=None).run_dir)
    _poison(monkeypatch, {3, 4, 5, 20})  # a fresh call counter
    request.getfixturevalue("device_side")
    dev = train(cfg.replace(run_id="device", log_interval=4), stdout=None)
    dev_losses, dev_anoms, dev_evals = _summary(dev.run_dir)
    # every skipped step is still reported, with its own step number, though checked later
    assert dev_anoms == sync_anoms == [(s, "nonfinite_loss", "skip") for s in (3, 4, 5, 20)]
    assert sorted(dev_losses) == list(range(0, 24, 4))
    assert dev_losses == pytest.approx({s: sync_losses[s] for s in dev_losses}, abs=1e-6)
    assert dev_evals == pytest.approx(sync_evals, abs=1e-6) and all(map(math.isfinite, dev_evals))


def test_device_side_nan_stop_is_raised_at_the_next_log_iteration(tiny, monkeypatch,
                                                                  device_side):
    _poison(monkeypatch, {12, 13, 14})
    cfg = tiny.replace(nan_patience=3, log_interval=5, run_id="stop")
    with pytest.raises(NonFiniteError, match="3 consecutive steps"):
        train(cfg, stdout=None)
    events = read_events(Path(tiny.system.out_dir) / "stop")
    anomalies = [(e["step"], e["action"]) for e in events if e["type"] == "anomaly"]
    assert anomalies == [(12, "skip"), (13, "skip"), (14, "stop")]
    assert events[-1]["status"] == "failed" and events[-1]["steps"] == 15  # found at iter 15


def test_warmup_phase_leaves_training_unchanged(tiny):
    cfg = tiny.replace(dropout=0.1)  # dropout draws from the RNG that warmup must restore

    def steps(warm: bool) -> list[float]:
        tr = Trainer(cfg)
        if warm:
            assert tr.warmup() > 0
        x, y = tr.batches.next()
        out = []
        for it in range(4):
            tr.iter_num = it
            x, y = tr.train_step(lr_at(it, cfg.optim), x, y)
            out.append(tr.step_stats()[0])
        return out + [p.sum().item() for p in tr.raw_model.parameters()]

    assert steps(True) == steps(False) == steps(False)


def test_compile_phase_runs_before_iter_0_and_changes_nothing(tiny, monkeypatch):
    # torch.compile stood in by the identity: the phase's logic without inductor's minutes
    cfg = tiny.replace(dropout=0.1, max_iters=6, lr_decay_iters=6)
    plain = train(cfg.replace(run_id="plain"), stdout=None)
    monkeypatch.setattr(torch, "compile", lambda model: model)
    out = io.StringIO()
    compiled = train(cfg.replace(run_id="compiled", compile=True), stdout=out)
    assert re.search(r"^compile \+ first step: [\d.]+ s \(before iter 0; not in dt_ms, "
                     r"step_ms or MFU\)$", out.getvalue(), re.M)
    assert out.getvalue().index("compile + first step") < out.getvalue().index("iter 0:")
    assert _summary(compiled.run_dir) == _summary(plain.run_dir)


def test_bench_figures_are_positive_and_consistent(tiny, capsys):
    assert main(["bench", "--preset=tiny", "--device=cpu", "--steps=6", "--warmup=1",
                 "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["tokens_per_iter"] == 8 * 32 and r["steps"] == 6 and r["device"] == "cpu"
    assert r["compile_s"] > 0 and r["peak_mem_bytes"] > 10 * 2**20
    assert 0 < r["ms_per_iter_median"] <= r["ms_per_iter_p90"]
    assert r["tokens_per_s"] == pytest.approx(r["tokens_per_iter"] / (r["ms_per_iter_mean"]
                                                                       / 1e3), rel=1e-9)
    # the mean of 6 steps lies within their spread (median and p90 are of the same steps)
    assert r["ms_per_iter_mean"] < 6 * r["ms_per_iter_median"]
    assert 0 < r["mfu"] < 1.5 and r["peak_flops"] > 0


def test_bench_lines_and_library_call(tiny, capsys):
    result = bench(tiny.replace(n_layer=1), steps=2, warmup=0)
    assert result.n_params < 7264 and result.steps == 2
    assert main(["bench", "--preset=tiny", "--device=cpu", "--steps=2", "--warmup=0"]) == 0
    out = capsys.readouterr().out
    for head in ("compile + first step:", "ms/iter: median", "tokens/s:", "MFU:",
                 "peak memory:"):
        assert head in out


def test_bench_refuses_bad_step_counts(capsys):
    assert main(["bench", "--preset=tiny", "--steps=0"]) == 2
    assert "--steps must be >= 1" in capsys.readouterr().err


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4, 5], 50) == 3
    assert percentile([10, 20], 90) == pytest.approx(19)
    assert percentile([7], 90) == 7
