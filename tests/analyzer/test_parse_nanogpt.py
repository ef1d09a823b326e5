"""nanoGPT train.py stdout: every line form, every quirk of real logs, the vectorised reader."""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

from analyzer.parsers import nanogpt, scores
from analyzer.parsers._text import decode_lines
from tests.analyzer._parse_util import (assert_same_run, bulk_run, events, of_type, real_names,
                                        run)

ITER = "iter {s}: loss {l:.4f}, time {t:.2f}ms, mfu {m:.2f}%"


def iters(steps, loss=2.0, dt=100.0, mfu=30.0) -> str:
    return "\n".join(ITER.format(s=s, l=loss, t=dt, m=mfu if s >= 5 else -100) for s in steps)


# --------------------------------------------------------------------- single line forms
@pytest.mark.parametrize("line, fields", [
    ("iter 250: loss 1.9636, time 1155.43ms, mfu 0.33%",
     dict(step=250, loss=1.9636, dt_ms=1155.43, mfu_smoothed=0.0033, lr=None)),
    ("iter 0: loss 4.2709, time 10268.08ms, mfu -100.00%",       # the 'not measured' sentinel
     dict(step=0, loss=4.2709, dt_ms=10268.08, mfu_smoothed=None, mfu=None)),
    ("iter 1631: loss 4.0863, time 561.94ms",                      # before Feb 2023: no mfu
     dict(step=1631, loss=4.0863, dt_ms=561.94, mfu_smoothed=None, mfu=None)),
    ("iter 5: loss 3.3399, time 18371.47ms, lr:0.0003 , mfu: 3.06%",  # a fork's fields
     dict(step=5, loss=3.3399, dt_ms=18371.47, lr=0.0003, mfu_smoothed=0.0306)),
    ("iter 7: loss 2.5, time 10.00ms, lr 6.0000e-04, mfu 50.00%",
     dict(step=7, lr=6e-4, mfu_smoothed=0.5)),
    ("iter 110: loss nan, time 440.71ms, mfu 48.31%",              # NaN loss: null + anomaly
     dict(step=110, loss=None, dt_ms=440.71)),
])
def test_iter_line(line, fields):
    it = of_type(events(nanogpt, line), "iter")
    assert len(it) == 1
    for key, value in fields.items():
        assert it[0][key] == (pytest.approx(value) if isinstance(value, float) else value), key
    assert it[0]["step_ms"] is None  # nanoGPT prints the time between iterations only


def test_nan_loss_gives_an_anomaly():
    evs = events(nanogpt, "iter 110: loss nan, time 440.71ms, mfu 48.31%\n"
                          "iter 120: loss inf, time 440.71ms, mfu 48.31%")
    an = of_type(evs, "anomaly")
    assert [(a["step"], a["kind"], a["value"], a["action"]) for a in an] == [
        (110, "nonfinite_loss", "nan", "continue"), (120, "nonfinite_loss", "inf", "continue")]


def test_mfu_is_a_fraction_and_per_step_mfu_is_derived_from_the_ema_seed():
    # the first measured line seeds nanoGPT's running MFU: that step's MFU is the printed
    # value; later steps scale with 1/dt
    text = ("iter 4: loss 2.0, time 100.00ms, mfu -100.00%\n"
            "iter 5: loss 2.0, time 100.00ms, mfu 40.00%\n"
            "iter 6: loss 2.0, time 200.00ms, mfu 38.00%")
    it = of_type(events(nanogpt, text), "iter")
    assert [i["mfu_smoothed"] for i in it] == [None, 0.4, 0.38]
    assert it[0]["mfu"] is None
    assert it[1]["mfu"] == pytest.approx(0.40) and it[2]["mfu"] == pytest.approx(0.20)


def test_eval_then_iteration_at_the_same_step_is_eval_inclusive():
    text = ("iter 99: loss 2.0, time 100.00ms, mfu 1.00%\n"
            "step 100: train loss 1.9000, val loss 2.1000\n"
            "saving checkpoint to out-kirin\n"
            "iter 100: loss 2.0, time 9000.00ms, mfu 1.00%\n"
            "iter 101: loss 2.0, time 100.00ms, mfu 1.00%\n"
            "step 200: train loss 1.8000, val loss 2.0000\n"
            "iter 205: loss 2.0, time 100.00ms, mfu 1.00%")
    evs = events(nanogpt, text)
    assert [(i["step"], i["eval_inclusive"]) for i in of_type(evs, "iter")] == [
        (99, False), (100, True), (101, False), (205, False)]
    ev = of_type(evs, "eval")
    assert [(e["step"], e["train_loss"], e["val_loss"], e["best_val_loss"]) for e in ev] == [
        (100, 1.9, 2.1, 2.1), (200, 1.8, 2.0, 2.0)]
    ck = of_type(evs, "checkpoint")
    assert [(c["step"], c["path"], c["val_loss"]) for c in ck] == [(100, "out-kirin", 2.1)]


def test_a_forks_stepless_eval_is_at_the_iteration_printed_next_and_seconds_are_seconds():
    """An Intel fork prints 'eval: train loss X, val loss Y' at the top of the iteration it
    runs in, and times in seconds: the eval is at the next printed iteration (whose time
    holds it), even when the log prints every 5th; one with no iteration after it is at
    the step after the last."""
    text = ("eval: train loss 3.0947, val loss 3.0770\n"
            "iter 0: loss 3.1103, time 111.79s\n"
            "iter 5: loss 3.1276, time 41.66s\n"
            "eval: train loss 3.6313, val loss 3.4743\n"
            "iter 10: loss 3.4503, time 109.39s\n"
            "iter 15: loss 3.4179, time 40.84s\n"
            "eval: train loss 3.1855, val loss 3.1305\n")
    evs = events(nanogpt, text)
    assert [(i["step"], i["dt_ms"], i["eval_inclusive"]) for i in of_type(evs, "iter")] == [
        (0, 111790.0, True), (5, 41660.0, False), (10, 109390.0, True), (15, 40840.0, False)]
    assert [(e["step"], e["train_loss"], e["val_loss"]) for e in of_type(evs, "eval")] == [
        (0, 3.0947, 3.077), (10, 3.6313, 3.4743), (16, 3.1855, 3.1305)]


@pytest.mark.parametrize("line, step, train, val", [
    ("step 0: train loss 4.3818, val loss 4.3924; best val loss to now: 4.3924", 0, 4.3818, 4.3924),
    ("    Step 4500: train loss 1.3756, val loss 1.5976", 4500, 1.3756, 1.5976),  # indented
    ("Step 200: val loss 4.1347", 200, None, 4.1347),                        # no train loss
    ("step 5000: train loss 1.1115, train perplexity 3.0409, val loss 1.1284, val perplexity "
     "3.0921", 5000, 1.1115, 1.1284),                                        # fields between
    ("step 1200: train loss 2.3878, val loss 3.1683, val bpb 2.1702", 1200, 2.3878, 3.1683),
    ("step 250: train loss 2.5833 BPC, val loss 2.7931 BPC", 250, 2.5833, 2.7931),  # a unit
])
def test_eval_line_variants_of_forks(line, step, train, val):
    ev = of_type(events(nanogpt, line + "\n"), "eval")
    assert [(e["step"], e["train_loss"], e["val_loss"]) for e in ev] == [(step, train, val)]
    assert nanogpt.detect([line]) >= 0.5


def test_eval_lines_alone_with_ms_per_iter_give_step_times():
    text = ("step 1: train loss 6.6678, val loss 6.6633, val bpb 4.5643, ms/iter 9311.58\n"
            "step 200: train loss 3.7475, val loss 3.9034, val bpb 2.6738, ms/iter 542.66\n")
    evs = events(nanogpt, text)
    assert [(i["step"], i["step_ms"], i["loss"]) for i in of_type(evs, "iter")] == [
        (1, 9311.58, None), (200, 542.66, None)]
    assert [e["step"] for e in of_type(evs, "eval")] == [1, 200]
    # with iteration lines, those give the step times (an eval's time is no extra row)
    evs = events(nanogpt, "iter 0: loss 2.0, time 10.00ms\n" + text)
    assert [i["step"] for i in of_type(evs, "iter")] == [0]


def test_a_throughput_and_an_iteration_glued_to_the_line_before():
    text = ("Parameters: 123.9M\n"
            "iter 110: loss 5.7832, lr 4.40e-04, 168.3k tok/s, FP8: Trueiter 120: loss 5.6387, "
            "lr 4.80e-04, 168.6k tok/s, FP8: True\n"
            "iter 130: loss 5.5352, lr 5.20e-04, 1.2M tokens/sec\n")
    r = run(nanogpt, text)
    assert r.iters["step"].tolist() == [110, 120, 130]
    assert r.iters["tokens_per_s"].tolist() == [168300.0, 168600.0, 1.2e6]
    assert r.meta["model"]["n_params"] == 123_900_000


CONFIG_ECHO = """\
Overriding config with config/train_shakespeare_char.py:
# train a miniature character-level shakespeare model

out_dir = 'out-shakespeare-char'
eval_interval = 250 # keep frequent because we'll overfit
n_layer = 6
n_head = 6
n_embd = 384
block_size = 256 # context of up to 256 previous characters
max_iters = 5000
device = 'cuda' if __import__('torch').cuda.is_available() else 'cpu'
Overriding: max_iters = 2000
Overriding: dtype = float16
================== CONFIG VALUES =================
bias: False
compile: False
===================================================
tokens per iteration will be: 16,384
found vocab_size = 65 (inside data/shakespeare_char/meta.pkl)
Initializing a new model from scratch
number of parameters: 10.65M
num decayed parameter tensors: 26, with 10,740,096 parameters
using fused AdamW: True
step 0: train loss 4.2874, val loss 4.2823
iter 0: loss 4.2654, time 13500.54ms, mfu -100.00%
iter 10: loss 3.1462, time 13.86ms, mfu -100.00%
"""


def test_header_and_config_echo():
    r = run(nanogpt, CONFIG_ECHO)
    cfg = r.meta["config"]
    assert cfg["out_dir"] == "out-shakespeare-char" and cfg["eval_interval"] == 250
    assert cfg["max_iters"] == 2000 and cfg["bias"] is False  # later lines win
    assert cfg["device"].startswith("'cuda' if __import__")  # kept as text, never evaluated
    assert r.meta["model"] == dict(n_layer=6, n_head=6, n_embd=384, block_size=256,
                                   vocab_size=65, bias=False, n_params=10_650_000)
    assert r.meta["tokens_per_iter"] == 16384 and r.meta["max_iters"] == 2000
    assert r.meta["dtype"] == "float16" and r.meta["device"] is None  # not printed: null
    assert r.meta["world_size"] == 1 and r.meta["source"] == "nanogpt"
    assert r.meta["peak_flops"] == 312e12
    assert r.stats.skipped == 0 and r.stats.parsed == r.stats.lines - 1  # one blank line
    # tokens/s from the header's tokens per iteration
    assert r.iters["tokens_per_s"].tolist() == pytest.approx([16384 / 13.50054, 16384 / 0.01386])


def test_ddp_header_once_per_rank_is_one_run_with_its_world_size():
    rank_header = ("Overriding config with config/train_gpt2.py:\nbatch_size = 12\n"
                   "tokens per iteration will be: 491,520\nnumber of parameters: 123.59M\n")
    text = rank_header * 4 + "step 0: train loss 10.9, val loss 10.9\n" + iters(range(3))
    r = run(nanogpt, text)
    assert r.n_segments == 1 and len(r.iters) == 3
    assert r.meta["world_size"] == 4 and r.meta["tokens_per_iter"] == 491520
    assert r.meta["config"] == {"batch_size": 12}


@pytest.mark.parametrize("line, n_params", [
    ("number of parameters: 10.65M", 10_650_000),     # train.py
    ("6.686545 M parameters", 6_686_545),             # ng-video-lecture's gpt.py and its forks
    ("0.209729 M parameters", 209_729),
    ('   ".21089 M parameters', 210_890),                # pasted in a string, its 0 lost
])
def test_parameter_count_in_either_wording(line, n_params):
    r = run(nanogpt, f"cuda\n{line}\nstep 0: train loss 10.9858, val loss 11.0051\n"
                     "step 100: train loss 5.3582, val loss 6.1447\n")
    assert r.meta["model"]["n_params"] == n_params
    assert r.stats.skipped == 1  # 'cuda' alone


def test_an_eval_line_closing_a_pasted_string():
    r = run(nanogpt, '"step 0: train loss 4.2, val loss 4.3\n'
                     'step 100: train loss 0.2253, val loss 5.6153"\n')
    assert r.evals["val_loss"].tolist() == [4.3, 5.6153]


def test_every_ranks_eval_at_the_same_step_is_one_eval():
    """A fork whose every DDP rank prints the eval: eight 'step 0' lines in a row (values a
    little apart) are one eval of one run, not a run per rank; an eval of the same step after
    its iteration is still a new run (the step went back)."""
    evals = "".join(f"step 0: train loss 10.98{k}, val loss 10.98{k}\n" for k in range(8))
    iters = "iter 0: loss 11.0018, time 35393.65ms, mfu -100.00%\n" \
            "iter 10: loss 10.8591, time 1054.93ms, mfu 28.65%\n"
    r = run(nanogpt, evals + iters)
    assert r.n_segments == 1
    assert r.evals["val_loss"].tolist() == [10.980]
    again = run(nanogpt, evals + iters + evals + iters)
    assert again.n_segments == 2
    data = (evals + iters * 3).encode()  # the bulk reader feeds eval lines to the parser too
    fast = bulk_run(nanogpt, data)
    assert fast is not None
    assert_same_run(fast, run(nanogpt, data))


def test_eval_lines_joined_into_one_are_read_each():
    # a page kept the log in a string and lost its line breaks
    text = ('  const crossEntropy = "step 0: train loss 4.2207, val loss 4.2290, step 500: '
            'train loss 1.7598, val loss 1.9107, step 4999: train loss 0.8597, val loss 1.5753"\n')
    r = run(nanogpt, text)
    assert r.evals["step"].tolist() == [0, 500, 4999]
    assert r.evals["val_loss"].tolist() == [4.2290, 1.9107, 1.5753]
    assert r.evals["train_loss"].tolist() == [4.2207, 1.7598, 0.8597]
    assert nanogpt.detect(text.splitlines()) > 0


@pytest.mark.parametrize("closing, best, step", [
    # the best eval was in lines the paste left out: the stated best, with no step
    ("Training complete. Best model saved at: checkpoints/best_model.pth with val loss 1.4881",
     1.4881, None),
    ("Best val loss: 1.5237", 1.5237, 4000),  # the printed minimum itself: its step is known
])
def test_a_closing_line_stating_the_best_val(closing, best, step):
    from analyzer.stats import summarize
    text = ("step 1000: train loss 1.2, val loss 1.5500\n...\n"
            "step 4000: train loss 0.9568, val loss 1.5237\n"
            "step 4999: train loss 0.8537, val loss 1.5712\n" + closing + "\n")
    s = summarize(run(nanogpt, text))
    assert (s["best_val_loss"], s["best_val_step"], s["final_val_loss"]) == (best, step, 1.5712)


def test_a_count_in_prose_is_not_the_models():
    r = run(nanogpt, "we trained 6.7 M parameters in this model\n" + iters(range(2)))
    assert r.meta["model"]["n_params"] is None


def test_resume_is_a_new_segment():
    text = ("tokens per iteration will be: 1,000\n" + iters(range(0, 30, 10)) + "\n"
            "tokens per iteration will be: 1,000\nResuming training from out\n"
            "step 20: train loss 1.5, val loss 1.6\n" + iters(range(20, 50, 10)))
    r = run(nanogpt, text)
    assert [s["kind"] for s in r.segments] == ["run_start", "resume"]
    evs = events(nanogpt, text)
    res = of_type(evs, "resume")
    assert res[0]["from_step"] == 20 and res[0]["checkpoint"] == "out"
    assert r.iters.groupby("segment")["step"].apply(list).to_dict() == {
        0: [0, 10, 20], 1: [20, 30, 40]}
    assert r.evals["segment"].tolist() == [1]


@pytest.mark.parametrize("between", [
    "",                                            # two runs concatenated, no header
    "Initializing a new model from scratch\n",     # a new run appended to the same file
    "Overriding config with config/x.py:\nn_layer = 2\n",
])
def test_step_going_back_or_a_new_header_starts_a_new_segment(between):
    text = iters(range(0, 50, 10)) + "\n" + between + iters(range(0, 30, 10))
    r = run(nanogpt, text)
    assert r.n_segments == 2
    assert r.iters.groupby("segment").size().tolist() == [5, 3]
    assert [s["kind"] for s in r.segments] == ["run_start", "run_start"]


def test_header_lines_flushed_after_the_last_iteration_do_not_start_a_run():
    # other DDP ranks' block-buffered stdout arrives at exit, after rank 0's iterations
    text = iters(range(10)) + "\ntokens per iteration will be: 1,000\nnumber of parameters: 1M\n"
    r = run(nanogpt, text)
    assert r.n_segments == 1 and len(r.iters) == 10 and r.stats.skipped == 0


@pytest.mark.parametrize("tail, status, error", [
    ("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
     "    x()\nRuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB\n",
     "failed", "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"),
    ("Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n"
     "KeyboardInterrupt\n", "interrupted", "KeyboardInterrupt"),
    ("slurmstepd: error: *** JOB 42 ON node1 CANCELLED AT 2024-10-10T02:20:29 DUE TO TIME "
     "LIMIT ***\n", "interrupted", None),
    ("/var/spool/slurmd/job1/slurm_script: line 14: 252049 Killed    python train.py\n",
     "failed", None),
])
def test_run_end_only_when_the_log_states_it(tail, status, error):
    evs = events(nanogpt, iters(range(3)) + "\n" + tail)
    end = of_type(evs, "run_end")
    assert len(end) == 1 and end[0]["status"] == status and end[0]["steps"] == 2
    if error:
        assert end[0]["error"] == error
    assert of_type(events(nanogpt, iters(range(3))), "run_end") == []  # a log that just stops


def test_a_traceback_followed_by_more_training_is_not_an_end():
    text = (iters(range(2)) + "\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
            "ValueError: a logging hiccup\n" + iters(range(2, 4)))
    r = run(nanogpt, text)
    assert r.end is None and len(r.iters) == 4
    assert [s[1] for s in r.stats.samples] == ["traceback"] * 3


def test_messy_lines():
    text = ("2023-01-01 12:00:00 > iter 0: loss 4.0000, time 100.00ms, mfu -100.00%\n"
            "\n"
            "> iter 1: loss 3.9000, time 100.00ms, mfu -100.00%\n"
            "\x1b[32miter 2: loss 3.8000, time 100.00ms, mfu -100.00%\x1b[0m\n"
            "compiling 10%\rcompiling 100%\riter 3: loss 3.7000, time 100.00ms, mfu -100.00%\n"
            "... ...\n"
            "/x/train.py:218: FutureWarning: `torch.cuda.amp.GradScaler(args...)` is deprecated\n"
            "  scaler = torch.cuda.amp.GradScaler(enabled=(dtype == 'float16'))\n"
            "wandb: Syncing run mini-gpt\n"
            "iter 4890: loss 1.4\xff662, time 30.37ms, mfu 16.18%\n"    # a bad byte: skipped
            "iter 4900: loss 1.4400, time 15.54ms, mfu 17.30%\n")
    r = run(nanogpt, text.encode("latin-1"))
    assert r.iters["step"].tolist() == [0, 1, 2, 3, 4900]
    assert r.iters["loss"].tolist() == [4.0, 3.9, 3.8, 3.7, 1.44]
    reasons = [s[1] for s in r.stats.samples]
    assert reasons == ["elision", "warning", "unrecognised", "unrecognised", "unrecognised"]
    assert r.stats.lines == 11 and r.stats.parsed == 5 and r.stats.skipped == 5


def test_a_line_cut_by_a_scheduler_message():
    text = (iters(range(6)) + "\n" + "iter 6: loss 2.0000, time 100.00ms, mfu 30.00%"
            "slurmstepd: error: *** JOB 1 ON n CANCELLED AT 2024-10-11T13:44:45 ***\n")
    r = run(nanogpt, text)
    assert r.iters["step"].tolist()[-1] == 6 and r.end["status"] == "interrupted"
    cut = run(nanogpt, iters(range(6)) + "\niter 6: loss 2.0, tislurmstepd: error: *** JOB 1 "
                                          "ON n CANCELLED AT 2024-10-11T13:44:45 ***\n")
    # what was complete before the cut is kept (issue #12 class 3): the loss, not the time
    assert len(cut.iters) == 7 and cut.end["status"] == "interrupted"
    assert cut.iters["loss"].iloc[-1] == 2.0 and math.isnan(cut.iters["dt_ms"].iloc[-1])
    assert cut.stats.skipped == 0


@pytest.mark.parametrize("chunk", [1, 2, 7])
def test_feeding_in_chunks_gives_the_same_run(chunk):
    text = CONFIG_ECHO + iters(range(20, 60, 10)) + "\nResuming training from out\n" + \
        iters(range(30, 60, 10)) + "\nTraceback (most recent call last):\nOSError: disk\n"
    assert_same_run(run(nanogpt, text), run(nanogpt, text, chunk=chunk))


def test_detect():
    assert nanogpt.detect(["iter 0: loss 4.2709, time 10268.08ms, mfu -100.00%"]) > 0.9
    assert nanogpt.detect(["step 0: train loss 4.2, val loss 4.2",
                           "iter 0: loss 4.2709, time 10268.08ms, mfu -100.00%"]) > 0.9
    # eval lines alone: forks keep them beside their own step lines (the generic reader's)
    assert 0.5 <= nanogpt.detect(["step 0: train loss 4.2, val loss 4.2"]) < 0.55
    assert 0.5 <= nanogpt.detect(["tokens per iteration will be: 512"]) < 0.9
    assert nanogpt.detect(["step     0 | loss: 10.9 | lr 8e-07 | norm: 15.3 | dt: 23.8ms"]) == 0
    assert nanogpt.detect(["s:0 trl:11.0116 lr:0.000001 norm:14.96", "hello"]) == 0


# --------------------------------------------------------------------- the real logs
def _count(path, pattern):
    return sum(1 for line in path.read_text(errors="replace").splitlines()
               if re.match(pattern, line))


def _files(realdata):
    return sorted((realdata / "nanogpt").glob("*.log"))


@pytest.fixture(scope="module")
def real_logs(realdata):
    return {p.name: p for p in _files(realdata)}


NAMES = real_names("nanogpt", "*.log")


@pytest.mark.parametrize("name", NAMES)
def test_real_log_loads_with_independent_counts(real_logs, name):
    path = real_logs[name]
    r = run(nanogpt, path.read_bytes())
    n_iter = _count(path, r"iter \d+: loss ")
    n_eval = _count(path, r"step \d+: train loss ")
    n_ckpt = _count(path, r"saving checkpoint to ")
    assert (len(r.iters), len(r.evals), len(r.checkpoints)) == (n_iter, n_eval, n_ckpt)
    assert not any(s[1].startswith("parser error") for s in r.stats.samples)
    assert r.stats.parsed + r.stats.skipped <= r.stats.lines
    first = next(line for line in path.read_text(errors="replace").splitlines()
                 if line.startswith("iter "))
    assert r.iters["loss"].iloc[0] == float(first.split("loss ")[1].split(",")[0])
    assert r.n_segments == 1
    # the vectorised reader gives the same run, or steps aside (a fork's 'lr:' lines)
    fast = bulk_run(nanogpt, path.read_bytes())
    assert fast is not None or "lr:" in first
    if fast is not None:
        assert_same_run(r, fast)


def test_all_real_logs_are_tested(realdata):
    assert len(NAMES) >= 13


@pytest.mark.parametrize("name, onset, last_finite", [
    ("chenzihua-termux-cpu-nan-at-425.log", 425, 420),
    ("minlora-readme-fp16-nan.log", 110, 100),
])
def test_nan_onsets(real_logs, name, onset, last_finite):
    r = run(nanogpt, real_logs[name].read_bytes())
    bad = r.iters[r.iters["loss"].isna()]
    assert bad["step"].iloc[0] == onset and bad["step"].is_monotonic_increasing
    assert r.iters.loc[r.iters["loss"].notna(), "step"].max() == last_finite
    assert r.anomalies["step"].tolist() == bad["step"].tolist()


def test_eval_spikes_are_marked(real_logs):
    r = run(nanogpt, real_logs["macmini-m4-mps-warnings-evalspike-overfit-excerpt.log"]
            .read_bytes())
    spikes = r.iters[r.iters["eval_inclusive"]]
    assert spikes["step"].tolist() == list(range(0, 2251, 250))
    assert (spikes["dt_ms"].iloc[1:] > 50_000).all()
    assert (r.iters.loc[~r.iters["eval_inclusive"], "dt_ms"].iloc[1:] < 5_000).all()
    assert r.meta["device"] == "mps" and r.meta["config"]["device"] == "mps"
    assert r.stats.skipped == 6  # 3 warnings of 2 lines each


def test_mfu_sentinel_and_fork_variant(real_logs):
    r = run(nanogpt, real_logs["nanochatgpt-readme-colab-evalevery5-adamw.log"].read_bytes())
    assert r.iters.loc[r.iters["step"] < 5, "mfu_smoothed"].isna().all()
    assert r.iters.loc[r.iters["step"] >= 5, "mfu_smoothed"].notna().all()
    r = run(nanogpt, real_logs["nanochatgpt-readme-colab-modified-format-lr-mfu-colon.log"]
            .read_bytes())
    assert (r.iters["lr"] == 0.0003).all() and r.iters["mfu_smoothed"].iloc[-1] == 0.0342
    assert r.checkpoints["path"].iloc[0] == "/content/drive/MyDrive/Model"


# --------------------------------------------------------------------- the vectorised reader
def _generated(seed: int) -> str:
    """A log with every context-dependent situation, in random order and amounts."""
    rng = np.random.default_rng(seed)
    out = ["tokens per iteration will be: 8,192"] * int(rng.integers(1, 4))
    step, running = 0, -1.0
    for _ in range(int(rng.integers(50, 300))):
        kind = rng.choice(["iter"] * 20 + ["eval", "nan", "blank", "warn", "resume", "back",
                                           "header", "elide", "crlf", "bad"]
                          + ["prefix"] * (seed % 4 == 0))
        dt = float(rng.uniform(5, 500))
        if kind == "eval":
            out += [f"step {step}: train loss {rng.uniform(1, 3):.4f}, val loss 2.0000",
                    "saving checkpoint to out"]
        elif kind == "blank":
            out.append("")
        elif kind == "warn":
            out.append("UserWarning: something")
        elif kind == "resume":
            out += ["tokens per iteration will be: 8,192", "Resuming training from out"]
            step = max(0, step - int(rng.integers(0, 30)))
            running = -1.0
        elif kind == "back":
            step = max(0, step - int(rng.integers(1, 30)))
        elif kind == "header":
            out.append("Initializing a new model from scratch")
            step, running = 0, -1.0
        elif kind == "elide":
            out.append("...")
        elif kind == "bad":
            out.append("iter x: loss 1.0, time 1.0ms, mfu 1.00%")
        else:
            loss = "nan" if kind == "nan" else f"{rng.uniform(1, 5):.4f}"
            mfu = -100.0 if rng.random() < 0.1 else float(rng.uniform(0, 60))
            line = f"iter {step}: loss {loss}, time {dt:.2f}ms, mfu {mfu:.2f}%"
            if kind == "prefix":
                line = "> " + line
            out.append(line + ("\r" if kind == "crlf" else ""))
            step += int(rng.integers(1, 3))
    if rng.random() < 0.5:
        out += ["Traceback (most recent call last):", "  File \"t.py\"", "OSError: boom"]
    return "\n".join(out) + ("\n" if rng.random() < 0.5 else "")


@pytest.mark.parametrize("min_run", [64, 2])
@pytest.mark.parametrize("seed", range(40))
def test_fast_reader_equals_the_streaming_parser_on_generated_logs(monkeypatch, seed, min_run):
    from analyzer.parsers import nanogpt_columns as _fast
    monkeypatch.setattr(_fast, "MIN_RUN", min_run)  # 2: even short runs use the byte view
    data = _generated(seed).encode()
    fast = bulk_run(nanogpt, data)
    slow = run(nanogpt, data)
    if seed % 4 == 0:  # a '> '-prefixed iteration line sends the whole file to feed()
        assert fast is None or not any(line.startswith("> iter") for line in decode_lines(data))
    else:
        assert fast is not None
    if fast is not None:
        assert_same_run(slow, fast)


def test_fast_reader_is_used_for_plain_logs_and_keeps_every_row():
    text = ("tokens per iteration will be: 8,192\n" + iters(range(0, 3000), dt=20.0) +
            "\nstep 3000: train loss 1.0, val loss 1.1\n" + iters(range(3000, 3010), dt=20.0))
    fast = bulk_run(nanogpt, text.encode())
    assert fast is not None and len(fast.iters) == 3010
    assert_same_run(run(nanogpt, text), fast)
    assert fast.iters["time"].iloc[-1] == pytest.approx(3010 * 0.02)
    assert math.isclose(fast.iters["tokens_per_s"].iloc[-1], 8192 / 0.02)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_reader_in_parallel_pieces_and_small_chunks(monkeypatch, seed):
    # big files are split across threads and read in chunks: force both on a small file
    from analyzer.parsers import nanogpt_columns as _fast
    monkeypatch.setattr(_fast, "MIN_PIECE", 64)
    monkeypatch.setattr(_fast, "CHUNK_LINES", 7)
    monkeypatch.setattr(_fast, "MIN_RUN", 3)
    monkeypatch.setattr(_fast.os, "cpu_count", lambda: 10)  # (5 pieces: half the cores)
    data = _generated(seed).encode()
    assert len(_fast._pieces(data, 5, len(data))) == 5
    fast = bulk_run(nanogpt, data)
    assert fast is not None
    assert_same_run(run(nanogpt, data), fast)


def test_our_trainers_stdout():
    # gptscope's trainer prints nanoGPT's lines, plus a few of its own
    text = ("tokens per iteration will be: 4,096\nnumber of parameters: 0.80M\n"
            "iter 0: loss 4.1831, time n/ams, mfu n/a\n"
            "warning: step 1: non-finite loss (nan), action: skip\n"
            "iter 1: loss nan, time 20.00ms, mfu n/a\n"
            "Resuming training from logs/run-1 at iter 1\n"
            "iter 1: loss 3.0000, time 20.00ms, mfu 0.50%\n"
            "run failed after 2 iterations in 3.5s: RuntimeError: boom\n")
    r = run(nanogpt, text)
    assert r.iters["step"].tolist() == [0, 1, 1] and math.isnan(r.iters["dt_ms"].iloc[0])
    assert [s["kind"] for s in r.segments] == ["run_start", "resume"]
    res = of_type(events(nanogpt, text), "resume")[0]
    assert (res["from_step"], res["checkpoint"]) == (1, "logs/run-1")
    assert (r.end["status"], r.end["error"]) == ("failed", "RuntimeError: boom")
    # the step is the one the trainer names (its events say the same), not the last iter line
    assert r.end["step"] == r.end["steps"] == 2
    # the trainer's own anomaly line gives the action; the nan iteration adds no second one
    assert r.anomalies[["step", "kind", "action"]].values.tolist() == [
        [1, "nonfinite_loss", "skip"]]
    assert r.stats.skipped == 0


def test_our_trainers_mfu_is_its_own():
    # gptscope prints each step's MFU for 5 iterations, then the running MFU; the time it
    # prints includes the eval before iter 0, so no per-step MFU is derived from it (that
    # gave 10x the real MFU), and the peak is not nanoGPT's A100 constant
    lines = ["tokens per iteration will be: 256", "run 2026: events in out/2026/events.jsonl",
             "step 0: train loss 4.17, val loss 4.17",
             "iter 0: loss 4.1690, time 53.45ms, mfu 0.55%"]
    lines += [f"iter {i}: loss 4.1, time 4.50ms, mfu 2.{i}0%" for i in range(1, 9)]
    r = run(nanogpt, "\n".join(lines) + "\n")
    it = r.iters
    assert it["mfu"].iloc[:5].tolist() == pytest.approx([0.0055, 0.021, 0.022, 0.023, 0.024])
    assert it["mfu_smoothed"].iloc[:5].isna().all()
    assert it["mfu_smoothed"].iloc[5:].tolist() == pytest.approx([0.025, 0.026, 0.027, 0.028])
    assert it["mfu"].iloc[6:].isna().all()
    assert r.meta["peak_flops"] is None and r.meta["peak_flops_source"].startswith("gptscope")


def _uniform(seed: int, odd: bool) -> str:
    """Long runs of one line layout (what the 2-D byte view reads), with lines of the same
    width that must not be read the same way: a moved decimal point, another word, a
    negative loss, a step going back, NaN."""
    rng = np.random.default_rng(seed)
    out = ["tokens per iteration will be: 8,192"]
    step = 1000
    for i in range(3000):
        loss, dt, mfu = rng.uniform(1, 9.99), rng.uniform(100, 999.99), rng.uniform(10, 99.99)
        line = f"iter {step}: loss {loss:.4f}, time {dt:.2f}ms, mfu {mfu:.2f}%"
        r = rng.random()
        if r < 0.01:
            line = f"iter {step}: loss {loss * 10:.3f}, time {dt:.2f}ms, mfu {mfu:.2f}%"
        elif r < 0.02:
            line = line.replace("loss", "lose")
        elif r < 0.03:
            line = f"iter {step}: loss {-loss:.3f}, time {dt:.2f}ms, mfu {mfu:.2f}%"
        elif r < 0.035:
            step -= 50
        elif r < 0.04:
            line = f"iter {step}: loss nan, time {dt:.2f}ms, mfu {mfu:.2f}%"
        elif r < 0.045:
            line = f"iter {step}: loss {loss:.4f}, time {dt:.2f}ms, mfu -100.0%"
        elif r < 0.05 and odd:
            line = f"iter {step}: loss {loss:.4f}, time {dt:.2f}ms, mfu 3e.00%"
        out.append(line)
        step += 1
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_fast_reader_on_long_runs_of_one_layout(seed):
    from analyzer.parsers import nanogpt_columns as _fast
    odd = seed % 3 == 0
    data = _uniform(seed, odd).encode()
    starts, ends = _fast.line_bounds(np.frombuffer(data, np.uint8))
    got = np.zeros(len(starts), bool)
    vals = {k: np.zeros(len(starts)) for k in _fast._KEYS}
    _fast._fixed_layouts(np.frombuffer(data, np.uint8), starts, ends, got, vals)
    assert got.sum() > 1500  # most lines are read from the byte view
    fast = bulk_run(nanogpt, data)
    assert (fast is None) == odd  # '3e.00%' is an iteration to feed() but not a number
    if fast is not None:
        assert_same_run(run(nanogpt, data), fast)


def test_catch_up_fast_then_follow_with_feed():
    # a follower reads the big backlog vectorised, then feeds the lines appended later
    head = ("tokens per iteration will be: 8,192\n" + iters(range(0, 400), dt=20.0) +
            "\nstep 400: train loss 1.0, val loss 1.1\n")
    tail = (iters(range(400, 410), dt=20.0) + "\nTraceback (most recent call last):\n"
            "OSError: disk full\n")
    from analyzer.run import RunBuilder
    builder = RunBuilder("nanogpt")
    # a last line still being written is left for later
    parser = nanogpt.read_bulk(builder, (head + "iter 400: lo").encode(), run_id="log",
                               final=False)
    assert parser is not None and parser.stats is builder.stats
    n = len(decode_lines(head.encode()))
    assert len(builder.run().iters) == 400 and builder.stats.lines == n
    builder.add_events(parser.feed(decode_lines(tail.encode()), n + 1) + parser.finish())
    got, whole = builder.run(), run(nanogpt, head + tail)
    assert_same_run(got, whole)
    assert got.iters["eval_inclusive"].tolist()[400] is True and got.end["status"] == "failed"


def test_config_echo_of_any_config_file():
    # issue #12 class 9: a config file that starts with an import, has comments, a
    # commented-out line, an expression and a value over several lines
    text = ("Overriding config with config/finetune.py:\nimport time\nfrom math import sqrt\n\n"
            "out_dir = 'out-shakespeare'\n#init_from = 'gpt2-xl' # the largest\n"
            "wandb_run_name = 'ft-' + str(time.time())\ncompile = True # fast\n"
            "betas = (0.9,\n         0.95)\nmax_iters = 20\n"
            "step 0: train loss 4.1872, val loss 4.0326\n"
            "iter 0: loss 4.2, time 10.00ms, mfu -100.00%\n")
    r = run(nanogpt, text)
    c = r.meta["config"]
    assert c["out_dir"] == "out-shakespeare" and c["compile"] is True
    assert c["betas"] == [0.9, 0.95] and r.meta["max_iters"] == 20
    assert "init_from" not in c and c["wandb_run_name"] == "'ft-' + str(time.time())"
    assert r.stats.skipped == 0 and len(r.iters) == 1


def test_a_config_value_never_closed_does_not_swallow_the_log():
    text = ("Overriding config with config/x.py:\nbetas = (0.9,\n"
            "iter 0: loss 4.2, time 10.00ms, mfu -100.00%\n"
            "iter 1: loss 4.1, time 10.00ms, mfu -100.00%\n")
    assert len(run(nanogpt, text).iters) == 2


def _every_tenth(n: int) -> str:
    """nanoGPT with log_interval=10 (its shakespeare-char config): one line per 10 steps,
    each with the time of the one iteration it ends; an eval every 50 whose time is in
    that line's dt."""
    out = []
    for i in range(0, n, 10):
        if i % 50 == 0:
            out.append(f"step {i}: train loss 2.0000, val loss 2.1000")
        dt = 500.0 if i % 50 == 0 else 20.0
        out.append(f"iter {i}: loss 2.0000, time {dt:.2f}ms, mfu 1.00%")
    return "\n".join(out) + "\n"


def test_a_log_printing_every_tenth_step_counts_ten_steps_per_line():
    """The clock moves 10 steps' time per line, and an eval line's dt counts once (the
    eval and its step) plus 9 plain steps; the bulk reader and the streaming parser agree
    to the last bit."""
    text = _every_tenth(2000)
    it = run(nanogpt, text).iters
    # line k (k >= 1): 9 plain steps of 20 ms for the eval lines (+ the eval's 500 ms),
    # else 10 of 20 ms
    want = [0.5] + [(0.5 + 9 * 0.02) if i % 50 == 0 else 0.2 for i in range(10, 2000, 10)]
    assert it["time"].diff().fillna(it["time"].iloc[0]).tolist() == pytest.approx(want)
    fast = bulk_run(nanogpt, text.encode())
    assert fast is not None
    assert fast.iters["time"].tolist() == it["time"].tolist()
    assert fast.evals["time"].tolist() == run(nanogpt, text).evals["time"].tolist()


def test_a_log_starting_mid_run_has_no_per_step_mfu_from_a_running_average():
    """Cut from iter 1500 on: the first printed mfu is nanoGPT's running average, on an
    eval-inclusive 89 s line. Calibrating per-step MFU on it would read 0.44% x 89043 ms
    / 765 ms = 51% for every later step; without the '-100.00%' start there is no per-step
    MFU, and the printed running MFU stands."""
    text = ("step 1500: train loss 1.1567, val loss 1.4852\n"
            "iter 1500: loss 1.1835, time 89043.12ms, mfu 0.44%\n"
            + "".join(f"iter {i}: loss 1.1800, time 765.00ms, mfu 0.47%\n"
                      for i in range(1501, 1530)))
    for r in (run(nanogpt, text), bulk_run(nanogpt, text.encode())):
        if r is None:
            continue
        assert r.iters["mfu"].isna().all()
        assert r.iters["mfu_smoothed"].iloc[-1] == pytest.approx(0.0047)
    # from iter 0, the value after the sentinel is that step's own: per-step MFU is kept
    full = ("".join(f"iter {i}: loss 2.0, time 100.00ms, mfu -100.00%\n" for i in range(5))
            + "".join(f"iter {i}: loss 2.0, time {100 + i}.00ms, mfu 5.00%\n"
                      for i in range(5, 30)))
    it = run(nanogpt, full).iters
    assert it["mfu"].iloc[5] == pytest.approx(0.05)
    assert it["mfu"].iloc[-1] == pytest.approx(0.05 * 105 / 129)


def test_a_log_pasted_indented_is_nanogpt():
    # a blog's code block inside a markdown list item: every line indented by 5 spaces
    lines = ["Overriding: device = mps", "tokens per iteration will be: 16,384",
             "number of parameters: 10.65M", "step 0: train loss 4.2874, val loss 4.2823"]
    lines += [f"iter {i}: loss {4.2 - i / 100:.4f}, time {341.82 + i:.2f}ms, mfu 1.09%"
              for i in range(0, 50, 10)]
    text = "".join("     " + l + "\n" for l in lines)
    assert nanogpt.detect(text.splitlines()) == 0.95
    r = run(nanogpt, text)
    assert r.iters["step"].tolist() == [0, 10, 20, 30, 40] and len(r.evals) == 1
    assert r.meta["tokens_per_iter"] == 16384 and r.meta["device"] == "mps"


def test_lecture_eval_lines_with_the_step_in_brackets_and_a_colon_after_val_loss():
    # a notebook's copy of the lecture's gpt.py: 'Step [ 500]: train loss 2.1740, val loss: 2.2213'
    text = "".join(f"Step [{s:4d}]: train loss {4 - s / 2000:.4f}, val loss: {4.1 - s / 2000:.4f}\n"
                   for s in range(0, 5000, 500))
    assert scores(text.splitlines())[0][1] == "nanogpt"
    r = run(nanogpt, text)
    assert list(r.evals["step"]) == list(range(0, 5000, 500))
    assert r.evals["val_loss"].iloc[-1] == pytest.approx(1.85)


def test_an_eval_line_padded_after_the_steps_colon():
    """The lecture's gpt.py with the step padded to a width ('step 0:    train loss …',
    'step 500:  train loss …'): every eval is read, not only those of 4-digit steps."""
    from analyzer.parsers import nanogpt as ng
    from tests.analyzer._parse_util import run as run_
    text = ("step 0:    train loss 4.2221, val loss 4.2306\n"
            "step 500:  train loss 1.7453, val loss 1.9068\n"
            "step 1000: train loss 1.3902, val loss 1.5966\n")
    r = run_(ng, text)
    assert r.evals[["step", "val_loss"]].values.tolist() == [[0, 4.2306], [500, 1.9068],
                                                             [1000, 1.5966]]
