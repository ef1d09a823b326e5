"""torchrun: DistributedDataParallel with Gloo on CPU, 2 processes, one event stream."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gptscope import schema
from trainer import cli
from trainer import config as C
from trainer.dist import DistInfo
from trainer.loop import Trainer
from trainer.train import train

from .conftest import read_events

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each torchrun launch starts 3 Python processes with torch

ARGS = ["--preset=tiny", "--device=cpu", "--batch_size=4", "--gradient_accumulation_steps=2",
        "--max_iters=20", "--lr_decay_iters=20", "--eval_interval=10", "--eval_iters=2",
        "--learning_rate=0.01", "--min_lr=0.001", "--always_save_checkpoint"]


def torchrun(tmp_path: Path, *args: str, hooks: str = "", ok: bool = True,
             timeout: int = 300) -> subprocess.CompletedProcess:
    """2 Gloo ranks; hooks: GPTSCOPE_TEST_HOOKS (trainer/testhooks.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "GPTSCOPE_TEST_HOOKS": hooks}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc_per_node=2", "-m", "trainer", "run",
                           f"--out_dir={tmp_path}", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if ok:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_two_processes_write_one_stream_and_match_one_process(tmp_path, tiny):
    proc = torchrun(tmp_path, *ARGS, "--run_id=ddp")
    events = read_events(tmp_path / "ddp")
    assert all(schema.validate(e) == [] for e in events)
    assert proc.stdout.count("step 20: train loss") == 1  # rank 0 alone prints
    start, end = events[0], events[-1]
    assert start["type"] == "run_start" and start["world_size"] == 2
    assert start["tokens_per_iter"] == 4 * 32 * 2  # the global batch
    assert (end["type"], end["status"], end["steps"]) == ("run_end", "completed", 20)
    iters = [e for e in events if e["type"] == "iter"]
    assert [e["step"] for e in iters] == list(range(20))
    for e in iters:  # per-rank step times, for the straggler diagnostic
        assert 0 < e["step_ms_min"] <= e["step_ms_max"] and e["slowest_rank"] in (0, 1)

    # the same global batch in one process (4 x 2 micro-batches) learns the same way; the
    # ranks draw different windows, so the curves agree statistically, not exactly
    single = train(tiny.replace(batch_size=4, gradient_accumulation_steps=2, max_iters=20,
                                lr_decay_iters=20, eval_interval=10, eval_iters=2,
                                run_id="single"), stdout=None)
    val = lambda evs: [e["val_loss"] for e in evs if e["type"] == "eval"]  # noqa: E731
    ddp_val, single_val = val(events), val(read_events(single.run_dir))
    assert ddp_val[0] == pytest.approx(single_val[0], abs=0.05)  # same init, same eval batches
    assert ddp_val[-1] < ddp_val[0] - 0.2 and single_val[-1] < single_val[0] - 0.2
    assert ddp_val[-1] == pytest.approx(single_val[-1], abs=0.1)


def test_resume_under_torchrun_continues_exactly(tmp_path):
    torchrun(tmp_path, *ARGS, "--run_id=whole")
    torchrun(tmp_path, *ARGS, "--run_id=part", "--max_iters=10")
    torchrun(tmp_path, f"--resume={tmp_path / 'part'}", "--max_iters=20")
    part = read_events(tmp_path / "part")
    (resume,) = [e for e in part if e["type"] == "resume"]
    assert resume["from_step"] == 10
    after = {e["step"]: e["loss"] for e in part[part.index(resume):] if e["type"] == "iter"}
    whole = {e["step"]: e["loss"] for e in read_events(tmp_path / "whole") if e["type"] == "iter"}
    assert sorted(after) == list(range(10, 20))
    # each rank's data and dropout RNG states were saved and restored
    assert after == pytest.approx({s: whole[s] for s in after}, abs=1e-6)


def test_a_slow_rank_is_named_by_the_straggler_finding(tmp_path):
    """Rank 1 sleeps 40 ms in each step's own work. The gradient all-reduce makes rank 0 wait
    for it, so both ranks' step times are equal; their own work is not."""
    from analyzer.diagnostics import run_all
    from analyzer.loader import load
    torchrun(tmp_path, *ARGS, "--run_id=slow", "--max_iters=30", hooks="slow_rank=1:0.04")
    iters = [e for e in read_events(tmp_path / "slow") if e["type"] == "iter"]
    assert sum(e["slowest_rank"] == 1 for e in iters) >= 0.9 * len(iters)
    assert all(e["step_ms_max"] >= 40 for e in iters)
    (f,) = [f for f in run_all(load(tmp_path / "slow")) if f.code == "straggler_rank"]
    assert f.evidence["rank"] == 1 and "Rank 1" in f.message


def test_a_loss_overflow_on_one_rank_stops_every_rank(tmp_path):
    """fp16's case: one rank's loss is not finite while the GradScaler keeps the gradients
    finite. Every rank must count the step as bad and stop together (a rank stopping alone
    leaves the other waiting in its next collective until a 30-minute timeout)."""
    proc = torchrun(tmp_path, *ARGS, "--run_id=nan", "--nan_patience=3",
                    hooks="nan_loss_rank=1:4", ok=False, timeout=150)
    assert proc.returncode != 0
    events = read_events(tmp_path / "nan")
    anomalies = [(e["step"], e["action"]) for e in events if e["type"] == "anomaly"]
    assert anomalies == [(4, "skip"), (5, "skip"), (6, "stop")]
    end = events[-1]
    assert end["type"] == "run_end" and end["status"] == "failed"
    assert "non-finite loss for 3 consecutive steps" in end["error"]
    assert proc.stderr.count("non-finite loss for 3 consecutive steps") >= 2  # both ranks


# ---- defaults under torchrun: gradient_accumulation_steps fitted to the processes -----------

def _resolve(*argv: str, world_size: int) -> C.Config:
    ns, extra = cli.build_parser().parse_known_args(["run", *argv])
    assert extra == []
    return cli.resolve_config(ns, cuda_available=False, world_size=world_size)[0]


def test_a_default_accumulation_is_fitted_to_the_processes_a_given_one_is_not(tmp_path):
    assert _resolve(world_size=1).train.gradient_accumulation_steps == 1
    assert _resolve(world_size=2).train.gradient_accumulation_steps == 2  # 1 per rank
    assert _resolve("--preset=gpt2", world_size=8).train.gradient_accumulation_steps == 40
    assert _resolve("--preset=gpt2", world_size=3).train.gradient_accumulation_steps == 42
    # given by the user (command line or TOML): kept as it is, and refused when it cannot split
    assert _resolve("--gradient_accumulation_steps=3", world_size=2) \
        .train.gradient_accumulation_steps == 3
    toml = tmp_path / "c.toml"
    toml.write_text("gradient_accumulation_steps = 5\n")
    cfg = _resolve(f"--config={toml}", world_size=2)
    assert cfg.train.gradient_accumulation_steps == 5
    with pytest.raises(C.ConfigError, match="must be a multiple of the 2 processes, got 5"):
        Trainer(cfg.replace(device="cpu"), DistInfo(rank=0, local_rank=0, world_size=2))


def test_global_batch_line():
    cfg = C.Config().replace(gradient_accumulation_steps=2)
    assert C.global_batch_line(cfg, 2, default_steps=1) == (
        "global batch: 24 sequences of 64 tokens = 12 per micro-batch x 1 micro-step(s) x 2 "
        "processes (gradient_accumulation_steps=2: the default 1 rounded up to a multiple of "
        "the processes)")
    assert C.global_batch_line(cfg, 2).endswith("(gradient_accumulation_steps=2)")


def test_torchrun_with_the_default_preset_trains(tmp_path):
    """`torchrun --nproc_per_node=2 -m trainer run` without gradient_accumulation_steps: it
    used to stop with "must be a multiple of the 2 processes, got 1"."""
    proc = torchrun(tmp_path, "--preset=cpu", "--device=cpu", "--max_iters=3",
                    "--eval_interval=3", "--eval_iters=1", "--run_id=defaults")
    first = proc.stdout.splitlines()[0]
    assert first.startswith("global batch: 24 sequences of 64 tokens = 12 per micro-batch x "
                            "1 micro-step(s) x 2 processes"), proc.stdout
    assert proc.stdout.count("global batch:") == 1  # rank 0 alone
    events = read_events(tmp_path / "defaults")
    start, end = events[0], events[-1]
    assert start["world_size"] == 2 and start["tokens_per_iter"] == 2 * 12 * 64
    assert start["config"]["gradient_accumulation_steps"] == 2
    assert (end["type"], end["status"], end["steps"]) == ("run_end", "completed", 3)
