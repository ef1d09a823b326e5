"""SIGKILL a real ``python -m trainer run`` at random moments, again and again, resuming each
time: the checkpoint on disk always loads, ``--resume`` continues from the last complete
checkpoint, events.jsonl stays readable and the analyzer shows one run in segments.

Half of the trials aim at a checkpoint write: the fault hook (hooks/sitecustomize.py) writes
each checkpoint in two halves with a pause between them, and the kill lands in the pause, so
a half-written ``ckpt.pt.tmp`` is really on disk when the process dies. The other trials kill
at a random time: during start-up (imports, loading the checkpoint, the resume event) or
during training. The seed is printed; GPTSCOPE_KILL_SEED replays a sequence.
"""
from __future__ import annotations

import math
import os
import random
import time

import pytest
import torch

import analyzer
from tests.reliability._proc import TINY, Trainer, count, read_file_events, wait_until
from trainer import checkpoint as ckpt_io
from trainer.train import load_run_config, train

TRIALS = int(os.environ.get("GPTSCOPE_KILL_TRIALS", "12"))
SLOW_WRITE_S = 0.3      # the pause in the middle of a hooked checkpoint write
BIG = 100_000           # max_iters while killing: the run never ends on its own


def _check_after_kill(run, kills: int) -> int:
    """The invariants after a kill; returns the step the next resume must start from."""
    events, bad, _ = read_file_events(run / "events.jsonl")
    # every kill may leave at most one cut line (the last one, until a resume ends it)
    assert len(bad) <= kills, bad
    saved = [e["step"] for e in events if e["type"] == "checkpoint"]
    evals = [e["step"] for e in events if e["type"] == "eval"]
    path = run / ckpt_io.CKPT_NAME
    if not path.exists():
        assert not saved, "a checkpoint event without its file"
        return 0
    state = ckpt_io.load(path)  # weights_only: raises on a torn or foreign file
    step = state["iter_num"]
    assert all(torch.isfinite(t).all() for t in state["model"].values())
    assert saved, "a checkpoint file without any checkpoint event"
    # the file is the last checkpoint announced, or a newer one whose announcement the
    # kill cut off (it is renamed into place before the event is written)
    later = sorted(s for s in evals if s > saved[-1])
    assert step == saved[-1] or (later and step == later[0]), (step, saved[-1], later)
    return step


def _kill_at_a_checkpoint_write(tr: Trainer, run, rng: random.Random) -> bool:
    """Wait for this process to start a checkpoint write, kill it in the middle; True if
    the half-written temporary file was left behind."""
    tmp = run / (ckpt_io.CKPT_NAME + ".tmp")
    since = time.time_ns()

    def writing() -> bool:
        try:
            return tmp.stat().st_mtime_ns >= since
        except FileNotFoundError:
            return False
    wait_until(writing, tr, poll=0.005)
    time.sleep(rng.uniform(0.0, SLOW_WRITE_S * 0.7))
    tr.kill()
    return tmp.exists()


def _kill_at_random(tr: Trainer, run, rng: random.Random, startup_s: float) -> str:
    if rng.random() < 0.3:  # somewhere in start-up: imports, loading, the resume event
        time.sleep(rng.uniform(0.0, startup_s))
        tr.kill()
        return "start-up"
    before = count(run / "events.jsonl", b'"type":"iter"')
    wait_until(lambda: count(run / "events.jsonl", b'"type":"iter"') > before, tr)
    time.sleep(rng.uniform(0.0, 1.0))
    tr.kill()
    return "training"


@pytest.mark.slow  # a dozen real processes: ~1 min on 2 idle cores
@pytest.mark.timeout(900)
def test_sigkill_at_random_moments_then_resume(tmp_path):
    seed = int(os.environ.get("GPTSCOPE_KILL_SEED", random.randrange(1 << 30)))
    print(f"GPTSCOPE_KILL_SEED={seed}")
    rng = random.Random(seed)
    logs = tmp_path / "logs"
    run = logs / "r"
    moments: list[str] = []
    resumes: list[int] = []       # expected from_step of each resume event, in order
    expected = None
    startup_s = 0.0
    for trial in range(TRIALS):
        at_write = trial % 2 == 1
        args = ([*TINY, f"--out_dir={logs}", "--run_id=r", f"--max_iters={BIG}"]
                if trial == 0 else [f"--resume={run}"])
        n_resume = count(run / "events.jsonl", b'"type":"resume"')
        with Trainer(tmp_path, args, {"slow_checkpoint": SLOW_WRITE_S} if at_write else None,
                     name=f"trial{trial}") as tr:
            if trial == 0:  # the first run must get somewhere, so there is a run to resume
                wait_until(lambda: count(run / "events.jsonl", b'"type":"iter"') > 0, tr)
                startup_s = time.monotonic() - tr.started
            if at_write:
                moments.append("checkpoint write (torn .tmp left)"
                               if _kill_at_a_checkpoint_write(tr, run, rng)
                               else "checkpoint write")
            else:
                moments.append(_kill_at_random(tr, run, rng, startup_s))
            assert tr.proc.returncode == -9, tr.stderr[-2000:]
        if count(run / "events.jsonl", b'"type":"resume"') > n_resume:
            resumes.append(expected)   # this process got as far as announcing its resume
        expected = _check_after_kill(run, trial + 1)
    print("kill moments:", moments)
    assert sum(m.startswith("checkpoint write") for m in moments) == TRIALS // 2
    assert any(m == "checkpoint write (torn .tmp left)" for m in moments)

    # the last resume runs to the end
    final = max(expected, 0) + 12
    with Trainer(tmp_path, [f"--resume={run}", f"--max_iters={final}"], name="final") as tr:
        assert tr.wait() == 0, tr.stderr[-2000:]
    resumes.append(expected)

    events, bad, _ = read_file_events(run / "events.jsonl")
    got = [e["from_step"] for e in events if e["type"] == "resume"]
    assert got == resumes  # every resume started from the last complete checkpoint
    _check_one_run_in_segments(run, events, len(bad))
    _check_same_curve_as_an_uninterrupted_run(run, tmp_path, events, final)


def _check_one_run_in_segments(run, events: list[dict], n_bad: int) -> None:
    r = analyzer.load(run)
    resumes = [e for e in events if e["type"] == "resume"]
    assert r.format == "gptscope" and r.meta["run_id"] == "r"
    assert [s["kind"] for s in r.segments] == ["run_start"] + ["resume"] * len(resumes)
    assert r.end is not None and r.end["status"] == "completed"
    assert r.stats.skipped == n_bad
    it = r.iters
    last_time = -math.inf
    for seg, resume in enumerate([None] + resumes):
        rows = it[it["segment"] == seg]
        steps = rows["step"].astype(int).tolist()
        assert steps == sorted(set(steps)), seg  # within a segment: one curve, no repeats
        if resume is not None and steps:
            assert steps[0] == resume["from_step"]
        if len(rows):  # a resumed segment comes after the one before it: a gap in time
            assert rows["time"].min() > last_time
            last_time = rows["time"].max()
    # where a resumed segment retraces steps of a killed one, it retraces the same values:
    # the picture is one curve (with a gap where the kill was), not two
    by_step = it.groupby("step")["loss"].agg(["min", "max"])
    assert (by_step["min"] == by_step["max"]).all()


def _check_same_curve_as_an_uninterrupted_run(run, tmp_path, events, final: int) -> None:
    cfg = load_run_config(run).replace(run_id="ref", out_dir=str(tmp_path / "ref"),
                                       max_iters=final)
    ref = train(cfg, stdout=None)
    ref_events, _, _ = read_file_events(ref.run_dir / "events.jsonl")
    want = {e["step"]: e["loss"] for e in ref_events if e["type"] == "iter"}
    got = {}
    for e in events:
        if e["type"] == "iter":
            got[e["step"]] = e["loss"]  # a later segment's value wins
    assert sorted(got) == sorted(want) == list(range(final))
    assert got == want
    val = lambda evs: [e["val_loss"] for e in evs if e["type"] == "eval"][-1]  # noqa: E731
    assert val(events) == val(ref_events)
