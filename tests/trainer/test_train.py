"""The training loop: loss falls, the event stream follows the schema, stdout keeps nanoGPT's
lines, resume is exact, non-finite steps follow nan_policy, checkpoints are never torn."""
import io
import math
import re
from pathlib import Path

import pytest
import torch

from gptscope import schema
from trainer import checkpoint as ckpt_io
from trainer.model import GPT
from trainer.optim import lr_at
from trainer.train import NonFiniteError, load_run_config, train

from .conftest import read_events

# nanoGPT's stdout formats (train.py), as log parsers match them
STEP_RE = re.compile(r"^step (\d+): train loss (\d+\.\d{4}), val loss (\d+\.\d{4})$")
ITER_RE = re.compile(r"^iter (\d+): loss (\d+\.\d{4}), time (\d+\.\d{2})ms, mfu (-?\d+\.\d{2})%$")


def test_tiny_model_learns(tiny):
    result = train(tiny, stdout=None)
    evals = [e for e in read_events(result.run_dir) if e["type"] == "eval"]
    assert [e["step"] for e in evals] == [0, 10, 20, 30]
    assert abs(evals[0]["val_loss"] - math.log(65)) < 0.1  # untrained: uniform over 65 chars
    assert evals[-1]["val_loss"] < evals[0]["val_loss"] - 0.5
    assert result.status == "completed" and result.steps == 30


def test_event_sequence_and_fields(tiny):
    cfg = tiny.replace(max_iters=12, eval_interval=5, always_save_checkpoint=True)
    result = train(cfg, stdout=None)
    events = read_events(result.run_dir)
    for ev in events:
        assert schema.validate(ev) == [], ev
        assert list(ev) == [k for k in schema.field_names(ev["type"])
                            if k not in schema.OPTIONAL]
        assert ev["run_id"] == result.run_dir.name
    kinds = [(e["type"], e["step"]) for e in events]
    expected = [("run_start", 0), ("eval", 0)] + [("iter", i) for i in range(5)]
    expected += [("eval", 5), ("checkpoint", 5)] + [("iter", i) for i in range(5, 10)]
    expected += [("eval", 10), ("checkpoint", 10), ("iter", 10), ("iter", 11)]
    expected += [("eval", 12), ("checkpoint", 12), ("run_end", 12)]
    assert kinds == expected

    start = events[0]
    assert start["config"] == cfg.flat() == load_run_config(result.run_dir).flat()
    assert start["model"] == {"n_layer": 2, "n_head": 2, "n_embd": 16, "block_size": 32,
                              "vocab_size": 65, "bias": False, "n_params": 7264}
    assert start["tokens_per_iter"] == 8 * 32 and start["max_iters"] == 12
    assert (start["device"], start["dtype"], start["world_size"]) == ("cpu", "float32", 1)
    assert start["peak_flops_source"] == "measured:cpu-matmul" and start["peak_flops"] > 0
    assert start["torch_version"] == torch.__version__ and start["source"] == "gptscope"

    iters = [e for e in events if e["type"] == "iter"]
    for ev in iters:
        assert ev["lr"] == pytest.approx(lr_at(ev["step"], cfg.optim))
        assert ev["eval_inclusive"] == (ev["step"] in (0, 5, 10))
        assert ev["dt_ms"] >= ev["step_ms"] > 0
        # step_ms is written to the microsecond, tokens_per_s from the unrounded time
        assert ev["tokens_per_s"] == pytest.approx(256 / (ev["step_ms"] / 1e3), rel=1e-3)
        assert 0 < ev["mfu"] < 1 and ev["grad_norm"] > 0 and ev["loss"] > 0
        # nanoGPT's running MFU starts after 5 iterations, then 0.9 old + 0.1 new
        assert (ev["mfu_smoothed"] is None) == (ev["step"] < 5)
    assert iters[5]["mfu_smoothed"] == iters[5]["mfu"]
    assert iters[6]["mfu_smoothed"] == pytest.approx(0.9 * iters[5]["mfu"] + 0.1 * iters[6]["mfu"])
    # an eval at the top of an iteration lands in its dt_ms, not in its step_ms
    evals = {e["step"]: e for e in events if e["type"] == "eval"}
    assert iters[5]["dt_ms"] > iters[5]["step_ms"] + evals[5]["eval_ms"] * 0.9
    assert evals[12]["best_val_loss"] == min(e["val_loss"] for e in evals.values())
    end = events[-1]
    assert (end["status"], end["error"], end["steps"]) == ("completed", None, 12)
    assert end["wall_s"] > 0


def test_stdout_keeps_nanogpt_lines(tiny):
    out = io.StringIO()
    result = train(tiny.replace(max_iters=10, eval_interval=5), stdout=out)
    lines = out.getvalue().splitlines()
    events = read_events(result.run_dir)
    assert "tokens per iteration will be: 256" in lines
    assert "number of parameters: 0.01M" in lines
    steps = [STEP_RE.match(l) for l in lines if l.startswith("step ")]
    iters = [ITER_RE.match(l) for l in lines if l.startswith("iter ")]
    assert all(steps) and all(iters) and len(steps) == 3 and len(iters) == 10
    ev_iters = [e for e in events if e["type"] == "iter"]
    for m, ev in zip(iters, ev_iters):
        assert int(m[1]) == ev["step"] and m[2] == f"{ev['loss']:.4f}"
        assert m[3] == f"{ev['dt_ms']:.2f}"
        shown = ev["mfu_smoothed"] if ev["mfu_smoothed"] is not None else ev["mfu"]
        assert m[4] == f"{shown * 100:.2f}"
    ev_evals = [e for e in events if e["type"] == "eval"]
    assert [m[3] for m in steps] == [f"{e['val_loss']:.4f}" for e in ev_evals]
    assert lines.count(f"saving checkpoint to {result.run_dir}") == 2


def test_resume_continues_exactly(tiny):
    base = tiny.replace(max_iters=20, lr_decay_iters=20, eval_interval=10, dropout=0.1,
                        always_save_checkpoint=True)
    whole = train(base.replace(run_id="whole"), stdout=None)
    part = train(base.replace(run_id="part", max_iters=10), stdout=None)
    state = ckpt_io.load(part.run_dir / "ckpt.pt")
    assert state["iter_num"] == 10

    resumed = train(load_run_config(part.run_dir).replace(max_iters=20), resume_dir=part.run_dir,
                    stdout=None)
    assert resumed.run_dir == part.run_dir and resumed.steps == 20
    events = read_events(part.run_dir)
    resume = [e for e in events if e["type"] == "resume"]
    assert len(resume) == 1 and resume[0]["from_step"] == 10 and resume[0]["checkpoint"] == "ckpt.pt"
    after = events[events.index(resume[0]):]
    assert [e["type"] for e in after][:2] == ["resume", "iter"]  # no second eval at step 10
    losses = {e["step"]: e["loss"] for e in after if e["type"] == "iter"}
    ref = {e["step"]: e["loss"] for e in read_events(whole.run_dir) if e["type"] == "iter"}
    assert sorted(losses) == list(range(10, 20))
    assert losses == {s: ref[s] for s in losses}  # same data, dropout and Adam state: exact
    last = lambda evs: [e["val_loss"] for e in evs if e["type"] == "eval"][-1]  # noqa: E731
    assert last(after) == last(read_events(whole.run_dir))


def test_resume_restores_optimizer_state(tiny):
    from trainer.train import Trainer
    run = train(tiny.replace(max_iters=10, always_save_checkpoint=True), stdout=None)
    state = ckpt_io.load(run.run_dir / "ckpt.pt")
    tr = Trainer(load_run_config(run.run_dir))
    fresh = tr.optimizer.state_dict()
    assert fresh["state"] == {}  # a new optimizer has no moments yet
    tr.load_state_dict(state)
    restored = tr.optimizer.state_dict()
    assert restored["param_groups"] == state["optimizer"]["param_groups"]
    for k, s in state["optimizer"]["state"].items():
        assert int(restored["state"][k]["step"]) == 10
        for name in ("exp_avg", "exp_avg_sq"):
            assert torch.equal(restored["state"][k][name], s[name])
    assert tr.iter_num == 10


def test_resume_refuses_a_different_model_shape(tiny):
    from trainer.config import ConfigError
    run = train(tiny.replace(max_iters=10, always_save_checkpoint=True), stdout=None)
    with pytest.raises(ConfigError) as e:
        train(load_run_config(run.run_dir).replace(n_layer=3), resume_dir=run.run_dir,
              stdout=None)
    assert e.value.field == "n_layer"


def _poison(monkeypatch, bad_steps: set[int], where: str = "loss") -> None:
    """Fault injection: training forwards number `bad_steps` return a NaN loss (or a loss
    whose gradients are infinite)."""
    original = GPT.forward
    calls = {"n": -1}

    class InfGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return g * float("inf")

    def forward(self, idx, targets=None):
        logits, loss = original(self, idx, targets)
        if self.training and targets is not None:
            calls["n"] += 1
            if calls["n"] in bad_steps:
                loss = loss * float("nan") if where == "loss" else InfGrad.apply(loss)
        return logits, loss

    monkeypatch.setattr(GPT, "forward", forward)


def test_nan_policy_stop_after_patience(tiny, monkeypatch):
    _poison(monkeypatch, {12, 13, 14})
    cfg = tiny.replace(nan_patience=3, always_save_checkpoint=True)
    with pytest.raises(NonFiniteError, match="3 consecutive steps"):
        train(cfg, stdout=None)
    run_dir = next(Path(cfg.system.out_dir).iterdir())
    events = read_events(run_dir)
    anomalies = [e for e in events if e["type"] == "anomaly"]
    assert [(a["step"], a["kind"], a["value"], a["action"]) for a in anomalies] == [
        (12, "nonfinite_loss", "nan", "skip"), (13, "nonfinite_loss", "nan", "skip"),
        (14, "nonfinite_loss", "nan", "stop")]
    end = events[-1]
    assert end["type"] == "run_end" and end["status"] == "failed"
    assert "NonFiniteError" in end["error"] and end["steps"] == 14
    iters = {e["step"]: e for e in events if e["type"] == "iter"}
    assert iters[12]["loss"] is None and iters[11]["loss"] is not None
    # the checkpoint on disk is the last finite one (step 10)
    state = ckpt_io.load(run_dir / "ckpt.pt")
    assert state["iter_num"] == 10
    assert all(torch.isfinite(t).all() for t in state["model"].values())


@pytest.mark.parametrize("where,kind", [("loss", "nonfinite_loss"), ("grad", "nonfinite_grad")])
def test_nan_policy_skip_keeps_training_and_the_model_finite(tiny, monkeypatch, where, kind):
    _poison(monkeypatch, {3, 4, 5, 6, 20}, where)
    result = train(tiny.replace(nan_policy="skip", nan_patience=1), stdout=None)
    events = read_events(result.run_dir)
    anomalies = [(e["step"], e["kind"], e["action"]) for e in events if e["type"] == "anomaly"]
    assert anomalies == [(s, kind, "skip") for s in (3, 4, 5, 6, 20)]
    assert events[-1]["status"] == "completed"
    evals = [e["val_loss"] for e in events if e["type"] == "eval"]
    assert all(v is not None and math.isfinite(v) for v in evals) and evals[-1] < evals[0]
    state = ckpt_io.load(result.run_dir / "ckpt.pt")
    assert all(torch.isfinite(t).all() for t in state["model"].values())


def test_a_failed_checkpoint_write_keeps_the_previous_one(tiny, monkeypatch):
    result = train(tiny.replace(max_iters=10, always_save_checkpoint=True), stdout=None)
    path = result.run_dir / "ckpt.pt"
    before = path.read_bytes()

    def full_disk(obj, f, *a, **k):
        f.write(b"partial bytes")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt_io.torch, "save", full_disk)
    with pytest.raises(ckpt_io.CheckpointError, match="No space left on device"):
        train(load_run_config(result.run_dir).replace(max_iters=20),
              resume_dir=result.run_dir, stdout=None)
    assert path.read_bytes() == before  # never torn
    assert not list(result.run_dir.glob("*.tmp"))
    end = read_events(result.run_dir)[-1]
    assert end["status"] == "failed" and "No space left on device" in end["error"]


def test_eval_only(tiny):
    result = train(tiny.replace(eval_only=True), stdout=None)
    kinds = [e["type"] for e in read_events(result.run_dir)]
    assert kinds == ["run_start", "eval", "run_end"] and result.steps == 0


def test_gradient_accumulation_matches_a_bigger_batch(tiny):
    # 2 micro-batches of 4 draw the same windows as one batch of 8 (same generator stream),
    # so the mean loss and the update are the same up to float rounding
    one = train(tiny.replace(batch_size=8, max_iters=5, run_id="one"), stdout=None)
    two = train(tiny.replace(batch_size=4, gradient_accumulation_steps=2, max_iters=5,
                             run_id="two"), stdout=None)
    get = lambda r: [e["loss"] for e in read_events(r.run_dir) if e["type"] == "iter"]  # noqa
    assert get(one) == pytest.approx(get(two), abs=1e-5)


def test_bfloat16_autocast_on_cpu(tiny):
    result = train(tiny.replace(dtype="bfloat16", max_iters=10), stdout=None)
    start, *_, end = read_events(result.run_dir)
    assert start["dtype"] == "bfloat16" and end["status"] == "completed"


def test_sample_prints_text_from_the_checkpoint(tiny):
    from trainer.sample import sample
    result = train(tiny.replace(max_iters=10), stdout=None)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: threads only add overhead
    try:
        texts = sample(result.run_dir, start="ROMEO:", num_samples=2, max_new_tokens=50)
    finally:
        torch.set_num_threads(threads)
    assert len(texts) == 2 and all(t.startswith("ROMEO:") and len(t) == 56 for t in texts)
