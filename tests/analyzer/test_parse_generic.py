"""The generic reader: nanoGPT-like lines in no specific format (issue #12, class 5)."""
from __future__ import annotations

import math

import pytest

from analyzer import loader as load_mod
from analyzer.parsers import generic, generic_lines, scores
from analyzer.parsers.generic import read_fields
from tests.analyzer._parse_util import run


@pytest.mark.parametrize("line, step, fields", [
    ("490 | loss 5.7543 | lr 1.2e-04 | 8060.78ms | mfu 0.21%", 490,
     dict(loss=5.7543, lr=1.2e-4, dt_ms=8060.78, mfu=0.0021)),
    ("step1 | loss: 10.16 | dt: 122.74ms | tok/sec: 141k | norm: 6.50", 1,
     dict(loss=10.16, dt_ms=122.74, tokens_per_s=141e3, grad_norm=6.5)),
    ("    step    0| loss: 10.938572 | lr: 6.0000e-05 | norm: 27.0145  | dt: 3663.01ms | "
     "tok/sec: 143130.26", 0,
     dict(loss=10.938572, lr=6e-5, grad_norm=27.0145, dt_ms=3663.01, tokens_per_s=143130.26)),
    ("step 0, loss: 10.899394989013672", 0, dict(loss=10.899394989013672)),
    ("iter 5: loss 3.3399, time 1.5s, lr:0.0003 , mfu: 3.06%, foo 7", 5,
     dict(loss=3.3399, dt_ms=1500.0, lr=3e-4, mfu=0.0306)),
    ("Step 12/100 | train_loss=2.5 | grad_norm=0.9 | tokens/s 1.2M", 12,
     dict(loss=2.5, grad_norm=0.9, tokens_per_s=1.2e6)),
    # the '(50.00%)' before the fields, a unitless number, does not hide the labelled dt
    ("Step 10/20 (50.00%) | loss 8.43 6.92 | dt 4595.83ms 5930.69ms | tps 114,078", 10,
     dict(loss=8.43, dt_ms=4595.83, tokens_per_s=114078.0)),
    # space-separated key=value (wordplay): a unitless dt before more fields is nanoGPT's ms
    ("step=10 loss=3.2386 dt=85.2848 dtf=4.6529 sps=93.8033 mfu=4.3692", 10,
     dict(loss=3.2386, dt_ms=85.2848, mfu=0.043692)),
    # a value padded after its label's colon ('{loss:10.6f}': two spaces under a wider one)
    ("Step     1 | Loss:  9.457475 | Time: 0.029s | 2025-11-14T11:38:21.692970", 1,
     dict(loss=9.457475, dt_ms=29.0)),
    ("step4000 | loss: 0.00125 | dt: 1591.27ms | tok/sec:  10296.17 | norm: 0.01", 4000,
     dict(loss=0.00125, dt_ms=1591.27, tokens_per_s=10296.17, grad_norm=0.01)),
    # minGPT's chargpt prints the time first
    ("iter_dt 7797.46ms; iter 2: train loss 2.60938", 2, dict(loss=2.60938, dt_ms=7797.46)),
    # commas with no space before a label (a lecture's build-nanogpt variant)
    ("step 1,loss: 9.524967193603516,dt:303.48ms, tokens/sec: 13496.70", 1,
     dict(loss=9.524967193603516, dt_ms=303.48, tokens_per_s=13496.70)),
    # Megatron-LM: the unit in the key, 'lm loss', counters that are no fields
    ("iteration      200/    1000 | consumed samples:          800 | elapsed time per "
     "iteration (ms): 430.0 | learning rate: 1.342E-04 | global batch size:     4 | lm loss: "
     "7.399415E+00 | loss scale: 16384.0 | grad norm: 2.918 | number of skipped iterations:   "
     "0 | number of nan iterations:   0 |", 200,
     dict(loss=7.399415, dt_ms=430.0, lr=1.342e-4, grad_norm=2.918)),
])
def test_fields_are_read_by_label_with_units(line, step, fields):
    r = run(generic, line + "\n")
    it = r.iters.iloc[0]
    assert it["step"] == step
    for name, value in fields.items():
        assert it[name] == pytest.approx(value), name
    assert set(r.stats.fields) == set(fields)
    assert r.stats.skipped == 0


def test_an_eval_line_and_eval_inclusive_time():
    text = ("490 | loss 5.7543 | lr 4.9e-05 | 8060.78ms | mfu 0.21%\n"
            "step 500: train loss 5.7373, val loss 5.9544\n"
            "saving checkpoint to out\n"
            "500 | loss 6.0091 | lr 5.0e-05 | 870067.53ms | mfu 0.19%\n")
    r = run(generic, text)
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [[500, 5.7373, 5.9544]]
    assert r.iters["eval_inclusive"].tolist() == [False, True]
    assert r.checkpoints["step"].tolist() == [500]


def test_makemore_test_loss_line_is_an_eval_and_its_best_model_a_checkpoint():
    """makemore prints the step's line, then an eval line with the same step (train and test
    loss, one space apart), then the model it saves: one step, one eval, one checkpoint."""
    text = ("step 490 | loss 0.0937 | step time 34.00ms\n"
            "step 500 | loss 0.1196 | step time 36.00ms\n"
            "step 500 train loss: 0.1002805307507515 test loss: 0.09006018191576004\n"
            "test loss 0.09006018191576004 is the best so far, saving model to out/model.pt\n")
    r = run(generic, text)
    assert r.iters[["step", "loss"]].values.tolist() == [[490, 0.0937], [500, 0.1196]]
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [
        [500, 0.1002805307507515, 0.09006018191576004]]
    assert r.checkpoints["step"].tolist() == [500]
    assert len(r.segments) == 1


def test_a_unitless_dt_at_the_end_of_a_key_value_line_is_cut_short():
    assert read_fields("loss=2.5 dt=85") == {"loss": 2.5, "dt_ms": None}


def test_logging_prefixes_and_a_glued_tqdm_bar_are_removed_before_reading():
    # wordplay (a nanoGPT fork) on DDP: each step line carries the latest eval's losses,
    # which count as one eval until they change; a change shows on the first line after the
    # eval, which ran at the top of the iteration after the line before (wordplay's trainer
    # increments its counter in the step): at that line's step
    bar = " {p}%|▉ | {s}/100 [00:05<00:19,  4.61it/s]"
    lines = [bar.format(p=s, s=s - 1) + f"[2024-04-02 01:59:46][INFO][trainer:837] - step={s} "
             f"loss={3 - s / 100:.4f} dt={80 + s}.5 train_loss=4.2922 val_loss="
             f"{4.2905 if s < 15 else 3.5:.4f}" for s in (5, 10, 15, 20)]
    text = ("[2024-04-02 01:59:38][INFO][model:255] - number of parameters: 10.65M\n"
            + "\n".join(lines) + "\n")
    assert scores(text.splitlines())[0][1] == "generic"
    r = run(generic, text)
    assert r.iters["step"].tolist() == [5, 10, 15, 20]
    assert r.iters["loss"].tolist() == [2.95, 2.9, 2.85, 2.8]
    assert r.iters["dt_ms"].tolist() == [85.5, 90.5, 95.5, 100.5]
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [
        [5, 4.2922, 4.2905], [10, 4.2922, 3.5]]
    assert r.meta["model"]["n_params"] == 10_650_000
    assert r.stats.skipped == 0


def test_mingpt_chargpt_lines_are_generic_not_nanogpt():
    head = ["number of parameters: 0.09M", "running on device cpu",
            "iter_dt 0.00ms; iter 0: train loss 2.84515", "( 5 - ( 6 - 7 ) )", "saving model"] + [
        f"iter_dt {5000 + i}.5ms; iter {i}: train loss {2.6 - i / 100:.5f}" for i in (2, 4, 6)]
    assert scores(head)[0][1] == "generic"
    r = run(generic, "\n".join(head) + "\n")
    assert r.iters["step"].tolist() == [0, 2, 4, 6]
    assert r.iters["dt_ms"].tolist() == [0.0, 5002.5, 5004.5, 5006.5]
    assert r.meta["model"]["n_params"] == 90_000


def test_eval_lines_alone_padded_with_pipes():
    # a MoE fork: eval lines only, with fields this reader does not know between
    text = "".join(f"iter {s:5d} | train loss {2 - s / 1000:.4f} | val loss {2.1 - s / 1000:.4f}"
                   f" | train drop rate 5.2% | val drop rate 4.7%\n" for s in (0, 100, 200))
    assert scores(text.splitlines())[0][1] == "generic"
    assert generic.detect(text.splitlines()) < 0.5  # nanoGPT's own eval lines stay nanoGPT's
    r = run(generic, text)
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [
        [0, 2.0, 2.1], [100, 1.9, 2.0], [200, 1.8, 1.9]]
    assert r.iters.empty and r.stats.skipped == 0


def test_eval_lines_alone_with_a_time_per_iteration_give_step_times():
    text = "".join(f"step {s} | train loss 2.0 | val loss 2.5 | ms/iter {500 + s / 100}\n"
                   for s in (100, 200))
    r = run(generic, text)
    assert r.iters[["step", "step_ms"]].values.tolist() == [[100, 501.0], [200, 502.0]]
    assert r.iters["loss"].isna().all() and r.evals["step"].tolist() == [100, 200]


def test_a_stepless_val_line_is_the_eval_at_the_top_of_the_next_step():
    # a build-nanogpt fork: 'val loss 3.5919' (no colon) before the step whose time has it
    text = ("step 11799 | train_loss 3.54  | norm 0.31  | time 2228.91 ms | tok/sec 235.22K\n"
            "val loss 3.5919\n"
            "step 11800 | train_loss 3.55  | norm 0.28  | time 19480.78 ms | tok/sec 26.91K\n")
    r = run(generic, text)
    assert r.evals[["step", "val_loss"]].values.tolist() == [[11800, 3.5919]]
    assert r.iters["eval_inclusive"].tolist() == [False, True]
    # before any step it is no eval of a known step
    assert run(generic, "val loss 3.5\nstep 1 | loss 3.4\n").evals.empty


TIME_BELOW = """\
Step: 395, Loss: 2.421875
Full step time 224.55 ms, cache entries: 90
dataloader host only step time 0.067 ms
dataloader step time 0.129 ms
Step: 396, Loss: 1.3633944e+15
Full step time 224.98 ms, cache entries: 90
dataloader step time 0.151 ms
Step: 397, Loss: inf
Full step time 224.969 ms, cache entries: 90
"""


def test_a_step_time_on_the_line_below_its_step_line():
    """tt-train prints the step's time on the next line. Once the log shows that (the first
    step was already read without it), each step waits one line for its time; the dataloader
    times further down are not the step's."""
    r = run(generic, TIME_BELOW)
    assert r.iters["step"].tolist() == [395, 396, 397]
    assert r.iters["dt_ms"].tolist()[1:] == [224.98, 224.969]
    assert math.isnan(r.iters["loss"].iloc[2]) and r.anomalies["step"].tolist() == [397]
    for chunk in (1, 2):
        assert run(generic, TIME_BELOW, chunk=chunk).iters["dt_ms"].tolist()[1:] == \
            [224.98, 224.969]


def _stamped(seconds: list[float], steps: list[int], frac: bool = True) -> str:
    def stamp(t: float) -> str:
        whole = f"2026-05-27 {int(t) // 3600:02d}:{int(t) % 3600 // 60:02d}:{int(t) % 60:02d}"
        return whole + (f",{round(t % 1 * 1000):03d}" if frac else "")
    return "".join(f"{stamp(t)} - INFO - __main__ - Epoch 1, Step {s}, Loss: {5 - s / 1e4:.4f}\n"
                   for t, s in zip(seconds, steps))


def test_a_log_timed_only_by_its_logging_stamps_gives_step_times():
    """Python logging's asctime on lines that print no time: the step time is the time
    between two stamped training lines over the steps between (the first has none)."""
    text = _stamped([3600.0, 3890.5, 4180.0, 4470.25], [100, 200, 300, 400])
    r = run(generic, text)
    ms = r.iters["step_ms"].tolist()
    assert math.isnan(ms[0]) and ms[1:] == pytest.approx([2905.0, 2895.0, 2902.5])
    assert r.iters["dt_ms"].isna().all()


def test_logging_stamps_that_cannot_time_a_step_give_none():
    # whole seconds over 3 s intervals: the stamps' resolution is too coarse for them
    r = run(generic, _stamped([0, 3, 6, 10], [10, 20, 30, 40], frac=False))
    assert r.iters["step_ms"].isna().all()
    # ... over 30 s intervals they are fine
    r = run(generic, _stamped([0, 30, 61], [10, 20, 30], frac=False))
    assert r.iters["step_ms"].tolist()[1:] == [3000.0, 3100.0]
    # stamps standing still while steps advance: output stamped when a buffer was flushed
    r = run(generic, _stamped([0, 0, 0, 50, 50, 50], [1, 2, 3, 4, 5, 6]))
    assert r.iters["step_ms"].isna().all()
    # an interval holding an eval is no training step's
    text = _stamped([0.0, 290.0], [100, 200]) + "step 200: train loss 4.9, val loss 5.0\n" + \
        _stamped([700.0, 990.0], [300, 400])
    ms = run(generic, text).iters["step_ms"].tolist()
    assert ms[1] == pytest.approx(2900.0) and math.isnan(ms[2]) and ms[3] == pytest.approx(2900.0)


MEGATRON = """\
 iteration      900/    5000 | consumed samples:         7200 | elapsed time per iteration (ms): 290.1 | learning rate: 4.1E-05 | lm loss: 5.6E+00 | loss scale: 65536.0 |
 iteration     1000/    5000 | consumed samples:         8000 | elapsed time per iteration (ms): 283.9 | learning rate: 4.608E-05 | lm loss: 5.544420E+00 | loss scale: 65536.0 |
------------------------------------------------------------------------------------------------
 validation loss at iteration 1000 | lm loss value: 6.439325E+00 | lm loss PPL: 6.259840E+02 |
------------------------------------------------------------------------------------------------
 iteration     1100/    5000 | consumed samples:         8800 | elapsed time per iteration (s): 0.2917 | learning rate: 5.077E-05 | lm loss: 5.352916E+00 | loss scale: 65536.0 |
 validation loss at iteration 1100 | lm loss value: 6.5E+00 | lm loss PPL: 6.6E+02 |
saving checkpoint at iteration    1100 to /workspace/model
 validation loss at the end of training for val data | lm loss value: 6.1E+00 | lm loss PPL: 4.4E+02 |
 validation loss at the end of training for test data | lm loss value: 8.4E+00 | lm loss PPL: 4.5E+03 |
"""


def test_megatron_lines_and_validation_blocks():
    """Megatron-LM: an iteration line's time in ms or in s (the unit in parentheses), the
    eval block's 'lm loss value', and the end-of-training val (a second eval at the last
    step, on other batches: the last val); the test-data line is no val."""
    r = run(generic, MEGATRON)
    assert r.iters["step"].tolist() == [900, 1000, 1100]
    assert r.iters["dt_ms"].tolist() == pytest.approx([290.1, 283.9, 291.7])
    assert r.evals[["step", "val_loss"]].values.tolist() == [[1000, 6.439325], [1100, 6.5],
                                                             [1100, 6.1]]


OLMO = """\
[2024-04-23 14:19:30] INFO     [olmo.train:816, rank=0] [step=1/739328]
    train/CrossEntropyLoss=11.31
    train/Perplexity=81,424
    throughput/total_tokens=4,194,304
[2024-04-23 14:19:36] INFO     [olmo.train:816, rank=0] [step=2/739328]
    train/CrossEntropyLoss=10.88
    optim/learning_rate_group0=0.0004
    throughput/device/tokens_per_second=16,222
    throughput/device/batches_per_second=0.1600
[2024-04-23 14:19:42] INFO     [olmo.train:816, rank=0] [step=3/739328]
    train/CrossEntropyLoss=10.84
    eval/c4_en-validation/CrossEntropyLoss=10.95
Saving checkpoint
"""


def test_step_blocks_of_indented_metrics_under_a_header():
    """OLMo's console: a '[step=N/T]' header, then the step's metrics indented below it;
    a block ends at the first line that is not one of them (or at the end)."""
    assert generic.detect(OLMO.splitlines()) > 0
    for chunk in (None, 1, 2):
        r = run(generic, OLMO, chunk=chunk)
        assert r.iters["step"].tolist() == [1, 2, 3]
        assert r.iters["loss"].tolist() == [11.31, 10.88, 10.84]
        assert r.iters["lr"].iloc[1] == 0.0004 and r.iters["tokens_per_s"].iloc[1] == 16222
        assert r.iters["step_ms"].iloc[1] == pytest.approx(6250.0)  # 1000 / batches per s
        assert r.evals[["step", "val_loss"]].values.tolist() == [[3, 10.95]]
        assert r.meta["max_iters"] == 739328


KERAS = """\
Total params: 3,387,266
Epoch 1/3
  1/391 [..............................] - ETA: 0s - loss: 5.6
391/391 [==============================] - 45s 115ms/step - loss: 2.9473 - val_loss: 3.1022
Epoch 2/3
generated text:
this movie is a good horror movie
 391/391 ━━━━━━━━━━━━━━━━━━━━ 44s 112ms/step - loss: 2.5001 - perplexity: 12.1 - val_loss: 2.9
Epoch 3/3
391/391 - 1232s - loss: 2.1755 - val_loss: 2.8 - 1232s/epoch - 3151ms/step
"""


def test_keras_fit_output_an_epoch_a_step():
    """Keras' model.fit: the 'Epoch i/N' line, then its finished progress line (any of the
    three layouts): the epoch is the step, ms/step the step time, the seconds the clock;
    an unfinished ('ETA') line is no step."""
    assert generic.detect(KERAS.splitlines()) > 0
    r = run(generic, KERAS)
    assert r.iters["step"].tolist() == [1, 2, 3] and r.meta["max_iters"] == 3
    assert r.iters["loss"].tolist() == [2.9473, 2.5001, 2.1755]
    assert r.iters["step_ms"].tolist() == [115.0, 112.0, 3151.0]
    assert r.iters["time"].tolist() == [45.0, 89.0, 1321.0]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[1, 3.1022], [2, 2.9], [3, 2.8]]
    assert r.meta["model"]["n_params"] == 3387266


def test_maxtext_lines_behind_rays_prefix():
    """MaxText's 'completed step: N, seconds: S, ..., Tokens/s/device: T, loss: L', as a Ray
    worker prints it ('(name pid=…, ip=…) ' before, '[repeated 9x across cluster]' after)."""
    text = "".join(f"(run_maxtext_train pid=78967, ip=10.130.0.11) completed step: {s}, seconds: "
                   f"{1.116 + s / 1000:.3f}, TFLOP/s/device: 138.799, Tokens/s/device: 14683.240, "
                   f"total_weights: 131072, loss: {9 - s / 10:.3f}"
                   + (" [repeated 9x across cluster]" if s % 2 else "") + "\n" for s in range(4))
    r = run(generic, "number parameters: 4.069 billion\n" + text)
    assert r.iters["step"].tolist() == [0, 1, 2, 3]
    assert r.iters["dt_ms"].tolist() == pytest.approx([1116.0, 1117.0, 1118.0, 1119.0])
    assert r.iters["tokens_per_s"].tolist() == [14683.24] * 4
    assert r.iters["loss"].tolist() == [9.0, 8.9, 8.8, 8.7]
    assert r.meta["model"]["n_params"] == 4_069_000_000


def test_deepspeed_chat_lines_with_a_labelled_stamp_and_a_count_after_the_first_step():
    """DeepSpeed-Chat: 'Time: <stamp>, Epoch: 0, Step: 5, Rank: 0, loss = X' every 5 steps
    (the step time from the stamps: 10 s over 5 steps), and 'Model Parameters: 0.388 B'
    printed after step 0: the run's count."""
    text = ("    Time: 2023-12-11 16:39:18, Epoch: 0, Step: 0, Rank: 0, loss = 6.8125\n"
            "    Model Parameters: 0.388 B, Latency: 2.08s, TFLOPs: 9.34, Samples/sec: 7.68\n"
            "    Time: 2023-12-11 16:39:28, Epoch: 0, Step: 5, Rank: 0, loss = 7.7890625\n"
            "    Time: 2023-12-11 16:39:38, Epoch: 0, Step: 10, Rank: 0, loss = 8.59375\n"
            "    Time: 2023-12-11 16:39:49, Epoch: 0, Step: 15, Rank: 0, loss = 7.203125\n")
    r = run(generic, text)
    assert r.iters["step"].tolist() == [0, 5, 10, 15]
    assert r.iters["loss"].tolist() == [6.8125, 7.7890625, 8.59375, 7.203125]
    assert r.iters["step_ms"].tolist()[1:] == [2000.0, 2000.0, 2200.0]
    assert r.meta["n_params"] == 388_000_000


def test_llms_from_scratch_epoch_and_step_in_parentheses():
    """Raschka's 'LLMs from scratch': 'Ep 1 (Step 000005): Train loss 8.066, Val loss 8.332',
    the step counting on across epochs: each line an eval at its step."""
    text = ("Ep 1 (Step 000000): Train loss 9.817, Val loss 9.924\n"
            "Ep 1 (Step 000005): Train loss 8.066, Val loss 8.332\n"
            "Ep 2 (Step 000010): Train loss 6.619, Val loss 7.042\n")
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [
        [0, 9.817, 9.924], [5, 8.066, 8.332], [10, 6.619, 7.042]]
    assert r.n_segments == 1


def test_composer_batch_blocks():
    """MosaicML Composer (llm-foundry): '[batch=N/T]:' ('[epoch=1][batch=N/T]:', perhaps
    behind Slurm's '0: ' label), then 'Train loss/train/total: X' and the like indented."""
    text = ("0: [batch=1/100]:\n"
            "0:\t Train time/batch: 0\n"
            "0:\t Train loss/train/total: 10.9736\n"
            "0:\t Train throughput/batches_per_sec: 0.5\n"
            "[epoch=1][batch=2/100]:\n"
            "         Train LanguageCrossEntropy: 10.9724\n"
            "         Train loss/train/total: 10.9724\n"
            "         Train lr-DecoupledAdamW/group0: 0.0006\n")
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1, 2] and r.meta["max_iters"] == 100
    assert r.iters["loss"].tolist() == [10.9736, 10.9724]
    assert r.iters["step_ms"].iloc[0] == 2000.0 and r.iters["lr"].iloc[1] == 0.0006


def test_a_unitless_dt_under_half_a_millisecond_is_in_seconds():
    """wordplay printed 'dt=85.2848' (ms) in 2024 and 'dt=0.0206855' (s) in 2025: a step of
    20 microseconds is no step, so a unitless dt under 0.5 is seconds; 85.28 stays ms."""
    new = run(generic, "".join(f"step={s} loss=4.2 dt=0.0206855 dtf=0.020356 sps=48.3\n"
                               for s in range(10, 60, 10)))
    assert new.iters["dt_ms"].tolist() == pytest.approx([20.6855] * 5)
    old = run(generic, "".join(f"step={s} loss=3.2 dt=85.2848 dtf=4.6529 sps=93.8\n"
                               for s in range(10, 60, 10)))
    assert old.iters["dt_ms"].tolist() == [85.2848] * 5


def test_a_step_printed_twice_the_second_line_timed_is_one_step():
    """build-nanogpt notes printing each step untimed, then again with its dt: one step each,
    not a resume per line; from the second pair on the steps have their times."""
    text = "".join(f"step : {s}, loss: {9 - s / 10}\n"
                   f"step : {s} | loss: {9 - s / 10} | dt: {170 + s}.5 ms | tokens/sec: 11.5\n"
                   for s in range(1, 6))
    for chunk in (None, 1):
        r = run(generic, text, chunk=chunk)
        assert len(r.segments) == 1
        assert r.iters["step"].tolist() == [1, 2, 3, 4, 5]
        assert math.isnan(r.iters["dt_ms"].iloc[0])  # (read before the log showed its pairs)
        assert r.iters["dt_ms"].tolist()[1:] == [172.5, 173.5, 174.5, 175.5]
        assert r.iters["tokens_per_s"].tolist()[1:] == [11.5] * 4
    # a different loss at the same step is no second line: a resume, as before
    r = run(generic, "step 1, loss: 3.0\nstep 1 | loss: 2.0 | dt: 10 ms\n")
    assert len(r.segments) == 2


def test_a_count_that_restarts_each_epoch_goes_on_across_epochs():
    """'Epoch: 1, Iteration: 0' after 'Epoch: 0, Iteration: 200': one run whose steps go on
    from the last epoch's end (its last count plus the print interval: the log says no
    more); an epoch going back is a new run."""
    text = "".join(f"Epoch: {e}, Iteration: {i}, Loss: {5 - e - i / 1000}\n"
                   for e in range(3) for i in (0, 100, 200))
    for chunk in (None, 1):
        r = run(generic, text, chunk=chunk)
        assert r.n_segments == 1
        assert r.iters["step"].tolist() == [0, 100, 200, 300, 400, 500, 600, 700, 800]
    again = run(generic, text + "Epoch: 0, Iteration: 0, Loss: 5.0\nEpoch: 0, Iteration: 100, "
                                "Loss: 4.9\n")
    assert [s["kind"] for s in again.segments] == ["run_start", "run_start"]
    # a counter that never restarts (litgpt's iter) stays as printed
    glob = run(generic, "Epoch 1 | iter 4 | loss 2.0\nEpoch 2 | iter 8 | loss 1.9\n")
    assert glob.iters["step"].tolist() == [4, 8]


def test_counts_within_an_epoch_in_other_wordings():
    """minimind's 'Epoch:[0/19](100/24681)' (the epoch's length printed: the steps go on by
    exactly it) and a tutorial's 'Epoch 3 Batch 6950' (a NaN loss read as such)."""
    text = ("Epoch:[0/2](0/300) loss:8.863 lr:0.00020000 epoch_Time:372.0min:\n"
            "Epoch:[0/2](200/300) loss:5.251 lr:0.00020000 epoch_Time:98.0min:\n"
            "Epoch:[1/2](0/300) loss:4.716 lr:0.00020000 epoch_Time:96.0min:\n")
    r = run(generic, text)
    assert r.iters["step"].tolist() == [0, 200, 300] and r.n_segments == 1
    assert r.iters["loss"].tolist() == [8.863, 5.251, 4.716]
    assert r.meta["max_iters"] == 600  # (300 is an epoch's length: 2 epochs)
    tf = run(generic, "Epoch 3 Batch 6950 Loss nan Accuracy 0.2588\n"
                      " 35%|█▋   | 6998/19988 [04:58<07:00, 30.90it/s]Epoch 3 Batch 7000 Loss nan\n")
    assert tf.iters["step"].tolist() == [6950, 7000]
    assert tf.anomalies["step"].tolist()[:1] == [6950]


def test_a_nan_and_a_cut_line():
    r = run(generic, "step 1 | loss: 2.5 | dt: 10ms\nstep 2 | loss: nan | dt: 1")
    assert math.isnan(r.iters["loss"].iloc[1]) and math.isnan(r.iters["dt_ms"].iloc[1])
    assert r.anomalies["kind"].tolist() == ["nonfinite_loss"]


def test_lines_without_a_step_or_a_loss_are_skipped():
    r = run(generic, "1 epoch = 20\nstep 3 | lr 1e-3\nloss 2.5\nstep 4 | loss 2.4\n")
    assert r.iters["step"].tolist() == [4] and r.stats.skipped == 3


def test_a_step_back_to_zero_starts_a_new_run():
    text = "".join(f"step {s} | loss {9 - s}\n" for s in range(3)) * 2
    r = run(generic, text)
    assert [s["kind"] for s in r.segments] == ["run_start", "run_start"]
    assert r.iters["segment"].tolist() == [0, 0, 0, 1, 1, 1]


def test_two_eval_lines_are_a_log_of_this_format():
    # freeCodeCamp's gpt-v1 notebook: an eval every 100 of 200 steps, bare counters between
    lines = ["step: 0, train loss: 10.547, val loss: 10.543", "1", "2",
             "step: 100, train loss: 6.863, val loss: 6.944", "101"]
    assert 0 < generic.detect(lines) < 0.5
    assert generic.detect(lines[:3]) == 0.0  # one eval line alone is not enough


def test_specific_formats_win_on_their_own_lines():
    nanogpt_head = ["step 0: train loss 4.2, val loss 4.2"] + [
        f"iter {i}: loss 4.1, time 10.00ms, mfu 1.00%" for i in range(5)]
    assert scores(nanogpt_head)[0][1] == "nanogpt"
    fork_head = ["step 0: train loss 4.2, val loss 4.2"] + [
        f"{i} | loss 4.1 | lr 1e-4 | 10.00ms" for i in range(5)]
    assert scores(fork_head)[0][1] == "generic"


def test_load_reports_format_generic(tmp_path):
    p = tmp_path / "fork.log"
    p.write_text("Created a dataset\n" + "".join(
        f"{i * 10} | loss {5 - i / 10:.4f} | lr 1e-4 | {8000 + i}.5ms | mfu 0.21%\n"
        for i in range(6)))
    r = load_mod.load(p)
    assert r.format == "generic" and len(r.iters) == 6
    assert r.stats.fields == ["loss", "lr", "dt_ms", "mfu"]


def test_an_epoch_and_a_second_counter_around_the_step_and_a_qualified_loss_label():
    # litgpt's finetune line: the epoch, the iteration (the step: it advances on every line),
    # the optimizer step (a second counter), a loss label with '(curr)', a val of 'None'
    text = "".join(f"Ep 1 | iter {i} | step {(i + 3) // 4}: loss train (curr): {2 - i / 10:.3f}, "
                   f"val (prev val iter): None | iter time: {150 + i}.25 ms"
                   f"{' (opt.step)' if i % 4 == 0 else ''}\n" for i in range(1, 9))
    assert generic.detect(text.splitlines()) > 0.5
    r = run(generic, text)
    assert r.iters["step"].tolist() == list(range(1, 9))
    assert r.iters["loss"].tolist() == pytest.approx([2 - i / 10 for i in range(1, 9)])
    assert r.iters["dt_ms"].tolist() == pytest.approx([150.25 + i for i in range(1, 9)])
    assert len(r.evals) == 0 and r.n_segments == 1 and r.stats.skipped == 0
    # a qualifier naming an eval is no train loss; one that is a unit is no word to drop
    assert "loss" not in read_fields("loss (val): 2.3")
    assert read_fields("loss 2 | tok/s (k): 141") == {"loss": 2.0}


def test_epoch_summary_lines_are_the_steps_with_their_evals():
    # a per-epoch trainer (basicConfig-style timestamps): each epoch's training time, its
    # validation time, then the summary; the epoch is the step, train/val losses an eval
    train = [7.566, 5.058, 4.627, 4.403, 4.254]
    val = [6.309, 6.208, 6.255, 6.299, 6.323]
    text = "".join(f"2024-06-13 13:17:{10 + e:02d},717 - Training epoch time: {86 + e / 10:.3f}s\n"
                   f"2024-06-13 13:17:{20 + e:02d},717 - Validation epoch time: 13.019s\n"
                   f"2024-06-13 13:17:{30 + e:02d},717 - Epoch: {e + 1}, Train loss: {t}, "
                   f"Val loss: {v}, Epoch time = {99 + e / 10:.3f}s\n"
                   for e, (t, v) in enumerate(zip(train, val)))
    assert generic.detect(text.splitlines()) > 0.5
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1, 2, 3, 4, 5]
    assert r.iters["loss"].tolist() == train
    assert r.iters["step_ms"].tolist() == pytest.approx([86000 + 100 * e for e in range(5)])
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [
        [e + 1, t, v] for e, (t, v) in enumerate(zip(train, val))]
    assert r.n_segments == 1
    # the clock moves by each epoch's whole time (validation included)
    assert r.iters["time"].iloc[-1] == pytest.approx(sum(99 + e / 10 for e in range(5)))
    # an epoch line without a val loss (a running loss within the epoch) is not a step
    assert generic_lines.line_fields("Epoch 1, loss: 2.3") is None


def test_an_epoch_time_in_ms_on_a_step_line_is_the_step_time_and_token_sec():
    # a course's build-nanogpt print, every 10th step, its step time labelled 'epoch time'
    r = run(generic, "step 10, loss: 7.1428, norm: 1.82, lr: 0.000600000, epoch time: 85.60ms, "
                     "token/sec: 191397.30\n")
    it = r.iters.iloc[0]
    assert it["dt_ms"] == 85.6 and it["tokens_per_s"] == 191397.30
    # in seconds on a step line it may be the epoch's elapsed time: no step time
    assert generic_lines.line_fields("step 10, loss: 7.1, epoch time: 85.6s")[2].get("dt_ms") is None


def test_tqdm_bars_with_the_fields_in_their_postfix_and_a_resume_counting_from_zero():
    def bar(n, total, loss, dt):
        return (f"Training:  10%|▉         | {n}/{total} [06:28<57:55,  1.30it/s, loss={loss}, "
                f"lr=0.000300, tok/s=27851.7, dt(ms)={dt}]  \n")
    text = ("Starting training from scratch\n" + bar(499, 1000, 0.9962, 588.26) + "\n"
            "Sample (step 499): The meaning of life is\n" + bar(500, 1000, 0.9962, 588.26)
            + bar(999, 1000, 0.5026, 594.23) + bar(1000, 1000, 0.5026, 594.23)
            + "Training finished!\nLoading checkpoint: checkpoints/step_1000.pt\n"
            "🔄 Resumed from step 1000\n" + bar(499, 500, 0.0070, 794.19)
            + bar(500, 500, 0.0070, 794.19))
    assert generic.detect(text.splitlines()) > 0.5
    r = run(generic, text)
    assert r.iters["step"].tolist() == [499, 500, 999, 1000, 1499, 1500]
    assert r.iters["loss"].tolist() == [0.9962, 0.9962, 0.5026, 0.5026, 0.0070, 0.0070]
    assert r.iters["dt_ms"].iloc[0] == 588.26 and r.iters["tokens_per_s"].iloc[0] == 27851.7
    assert [s["kind"] for s in r.segments] == ["run_start", "resume"]
    # Lightning's bar counts within its epoch (test_lightning_and_nemo_epoch_bars); an eval's
    # bar gives no step
    assert generic_lines.line_fields("Epoch 0:  50%|█    | 25/50 [00:01<00:01, 20.0it/s, "
                                "loss=2.3, v_num=0]") == (25, 50, {"loss": 2.3, "step_ms": 50.0,
                                                                   "epoch": 0.0}, False)
    assert generic_lines.line_fields("Validation: 100%|██| 5/5 [00:01<00:00, loss=2.3]") is None


def test_a_stepless_eval_block_after_a_step_line_is_that_steps_eval():
    # a minGPT-style trainer: the step's line, then an EVAL block with the losses rounded and
    # again as tensors; each block is the eval of the step printed before it
    block = ("====================\nEVAL\n====================\ntrain loss: {t:.2f}\n"
             "test loss: {v:.2f}\ntrain_loss:  tensor({t:.4f})\ntrain_perplexity:  tensor(84.9)\n"
             "test_loss:  tensor({v:.4f})\ntest_f1:  tensor(0.1224)\n====================\n")
    text = ("iter_dt 0.00ms; iter 0: train loss 10.87835\n" + block.format(t=10.4604, v=10.4610)
            + "iter_dt 2373.85ms; iter 100: train loss 6.51546\n"
            + block.format(t=6.4085, v=6.4097) + "Model saved: weights/model.pth\n")
    r = run(generic, text)
    assert r.evals[["step", "train_loss", "val_loss"]].values.tolist() == [
        [0, 10.4604, 10.4610], [100, 6.4085, 6.4097]]
    assert r.iters["step"].tolist() == [0, 100] and r.n_segments == 1
    # a train loss alone is no eval; a test loss before any step is not read
    assert len(run(generic, "step 1 | loss 2.5\ntrain loss: 2.4\n").evals) == 0
    assert generic.Parser().parse_line("test loss: 2.4", 1) is False


def test_step_lines_without_a_loss_and_a_cumulative_clock_beside_its_step_average():
    """modded-nanogpt's pipe port prints a training line per step with no loss, its 'time'
    the cumulative clock beside the running 'step avg': the steps are loss-less iterations,
    their time the clock's difference per step (never the clock itself), and the val lines
    their evals. A new run's clock starts again from its val line at step 0."""
    text = ("step 249/1840 | time: 8,471ms | step avg: 34.02ms\n"
            "step 250/1840 | time: 8,506ms | step avg: 34.03ms\n"
            "step 250/1840 | time: 8,548ms | step avg: 34.19ms | val loss: 4.6107\n"
            "step 251/1840 | time: 8,566ms | step avg: 34.13ms\n"
            "step 253/1840 | time: 8,634ms | step avg: 34.02ms\n"
            "step    0/1840 | time: 0ms | step avg: 0.04ms | val loss: 10.8315\n"
            "step    1/1840 | time: 75ms | step avg: 75.45ms\n"
            "step    2/1840 | time: 97ms | step avg: 48.83ms\n")
    r = run(generic, text)
    assert r.iters["step"].tolist() == [249, 250, 251, 253, 1, 2]
    assert r.iters["step_ms"].tolist()[1:] == pytest.approx([35.0, 60.0, 34.0, 75.0, 22.0])
    assert math.isnan(r.iters["step_ms"].iloc[0])  # a log cut mid-run: no earlier clock
    assert r.iters["loss"].isna().all() and r.anomalies.empty  # not logged, not NaN
    assert r.evals[["step", "val_loss"]].values.tolist() == [[250, 4.6107], [0, 10.8315]]
    assert [s["kind"] for s in r.segments] == ["run_start", "run_start"]
    assert "clock_ms" not in r.stats.fields and r.stats.skipped == 0
    # where step lines print a loss, one without is still no step (nor is an unnamed one)
    r = run(generic, "step 1 | loss 2.5 | dt 10ms\nstep 2 | dt 10ms\nstep 3 | loss 2.4 | dt 9ms\n")
    assert r.iters["step"].tolist() == [1, 3] and r.stats.skipped == 1
    assert generic_lines.line_fields("12 | time: 5ms") is None
    # a step's own time near its running average is no clock (nor is a 'dt' ever one)
    r = run(generic, "step 10 | loss 3.0 | time 52ms | step avg 50ms\n"
                     "step 11 | loss 2.9 | time 49ms | step avg 49.9ms\n"
                     "step 12 | loss 2.8 | dt 130ms | step avg 50.6ms\n")
    assert r.iters["dt_ms"].tolist() == [52.0, 49.0, 130.0] and r.iters["step_ms"].isna().all()


def test_a_timed_line_with_a_train_loss_and_the_latest_val_beside_it_is_a_step():
    """litgpt's pretraining line repeats the latest val beside each iteration's loss: the
    second such line with the same val and another train loss shows it; the first is then
    a step too. Lines whose losses both stay (eval lines alone) remain evals."""
    text = "".join(f"Epoch 34 | iter {3050700 + 50 * i} step {610140 + 10 * i} | loss train: "
                   f"{t}, val: 2.861 | iter time: {112 + i / 10:.2f} ms (step) remaining time: "
                   f"0:01:{54 - i:02d}\n" for i, t in enumerate((2.846, 2.750, 2.857)))
    r = run(generic, text)
    assert r.iters["step"].tolist() == [3050700, 3050750, 3050800]
    assert r.iters["loss"].tolist() == [2.846, 2.750, 2.857]
    assert r.iters["dt_ms"].tolist() == pytest.approx([112.0, 112.1, 112.2])
    assert r.evals[["step", "val_loss"]].values.tolist() == [[3050700, 2.861]]
    for chunk in (1, 2):
        assert run(generic, text, chunk=chunk).iters["loss"].tolist() == [2.846, 2.750, 2.857]


def test_a_tag_before_an_update_counter_and_a_guard_that_stops_the_run():
    """A research fork labels its lines ('2D1', 'RESULT_UPDATE_PASS') and counts updates
    ('update=1101/4769'): the tag is no field, the update the step; its guard's 'hard stop'
    line with no training after it ends the run, failed."""
    text = ("2D2H validation batch=01/20\n"
            + "".join(f"2D1 update={s}/4769 stage=C rho=0.750000 passes=2 loss={3 - s / 1e4:.6f} "
                      f"tok/s=49056 dt=8.91s\n" for s in (1101, 1102, 1103))
            + "recurrent-state explosion hard stop: health={'top_state_rms': 2.32}\n")
    assert generic.detect(text.splitlines()) > 0.5
    r = run(generic, text)
    assert r.iters["step"].tolist() == [1101, 1102, 1103]
    assert r.iters["loss"].tolist() == pytest.approx([2.8899, 2.8898, 2.8897])
    assert r.iters["dt_ms"].tolist() == [8910.0] * 3 and r.iters["tokens_per_s"].iloc[0] == 49056
    assert r.end["status"] == "failed" and "hard stop" in r.end["error"]
    got = generic_lines.line_fields("RESULT_UPDATE_PASS update=11 loss=5.580327 grad=0.674502")
    assert got[:2] == (11, None) and got[2] == {"loss": 5.580327, "grad_norm": 0.674502}
    # capitals before something else are no tag: a count of GPUs, a checkpoint's hash
    assert generic_lines.line_fields("GPU 0 | loss 2.5") is None
    assert generic_lines.line_fields("CHECKPOINT_PASS update=20 sha256=de5e04f8 next=ddbb96") is None
    # training after such a line: it did not stop the run
    r = run(generic, text + "2D1 update=1104/4769 loss=2.9 dt=8.9s\n")
    assert r.end is None and r.iters["step"].iloc[-1] == 1104


def test_an_evaluation_step_line_with_a_bare_val_is_the_eval():
    text = ("step   18 | tokens 9,961,472 | loss 9.6 | 169766.9 tok/s\n"
            "step   19 | tokens 10,485,760 | loss 9.5 | 169403.4 tok/s\n"
            "evaluation step 19 | tokens 10,485,760 | val 9.541013 | HellaSwag 0.256921 "
            "(2580/10042)\n"
            "evaluation step 20 | loss 9.4\n")
    r = run(generic, text)
    assert r.iters["step"].tolist() == [18, 19] and r.iters["loss"].tolist() == [9.6, 9.5]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[19, 9.541013], [20, 9.4]]


def test_makemores_count_and_loss_lines_and_its_split_losses_after_the_loop():
    # makemore's lectures: 'f"{i:7d}/{max_steps:7d}: {loss.item():.4f}"', then the splits
    steps = "".join(f"{i:7d}/ 200000: {2.9 - i / 1e5:.4f}\n" for i in range(0, 200000, 10000))
    text = ("Number of parameters: 11897\n" + steps + "Decaying learning rate at the 100000 "
            "epoch.\ntrain 2.125401020050049\nval 2.1713311672210693\nmora.\n")
    assert scores(text.splitlines())[0][1] == "generic"
    r = run(generic, text)
    assert list(r.iters["step"])[:2] == [0, 10000] and len(r.iters) == 20
    assert r.iters["loss"].iloc[-1] == pytest.approx(1.0)
    (e,) = r.evals.itertuples()
    assert (e.step, e.val_loss, e.train_loss) == (190000, 2.1713311672210693, 2.125401020050049)
    assert r.meta["max_iters"] == 200000
    # a bare 'val 2.17' before any step line is no eval; prose with a count is no step
    r = run(generic, "val 2.17\n" + steps[:60] + "1/2: done\n")
    assert not len(r.evals) and len(r.iters) == 2


def test_mlx_iterations_per_second_give_the_step_time():
    # MLX's trainers print a rate over the report window; their evals are timed apart
    text = ("Iter 1: Val loss 11.392, Val took 0.034s\n" + "".join(
        f"Iter {i}: Train loss {8 - i / 100:.3f}, Learning Rate 1.000e-05, It/sec 2.000, "
        f"Tokens/sec 3045.3, Trained Tokens {i * 80}, Peak mem 1.2 GB\n" for i in range(10, 60, 10)))
    r = run(generic, text)
    assert list(r.iters["step"]) == [10, 20, 30, 40, 50]
    assert list(r.iters["step_ms"]) == [500.0] * 5 and r.iters["dt_ms"].isna().all()
    assert r.iters["loss"].iloc[-1] == pytest.approx(7.5)
    assert read_fields("It/sec 0, loss 2.0") == {"loss": 2.0}  # no rate: no time



def test_an_eval_lines_own_duration_is_its_eval_time():
    """MLX times each validation apart ('Val took 60.917s'): the eval's eval_ms, which the
    costly-eval check weighs (16 evals of ~61 s beside 20-iteration windows of ~100 s)."""
    text = "".join(f"Iter {i}: Val loss {1 - i / 1000:.3f}, Val took 60.917s\n"
                   f"Iter {i + 10}: Train loss 0.8, Learning Rate 1e-05, It/sec 0.2\n"
                   f"Iter {i + 20}: Train loss 0.7, Learning Rate 1e-05, It/sec 0.2\n"
                   for i in range(0, 100, 20))
    r = run(generic, text)
    assert list(r.evals["step"]) == [0, 20, 40, 60, 80]
    assert list(r.evals["eval_ms"]) == [60917.0] * 5
    assert "eval_ms" not in r.stats.fields
    assert read_fields("Val loss 0.930, Val took 60.917s") == {"val_loss": 0.93,
                                                                "eval_ms": 60917.0}
    assert read_fields("eval loss 2.1, eval time 350ms")["eval_ms"] == 350.0


def test_an_elapsed_clock_in_minutes_times_the_steps_and_says_what_dt_covers():
    """A Colab project's lines every 10 steps: 'elapsed time: 4.89 min' is a cumulative
    clock (a step time from its differences), and the 'dt' beside it is the whole 10-step
    interval's (44.3 s where the clock moved 0.74 min): 4,434 ms a step, not 44,343."""
    text = "".join(f"step: {s}, train loss: {5 - s / 100:.4f}, val loss: {5.1 - s / 100:.4f}, "
                   f"elapsed time: {4.15 + s * 0.0739:.4f} min, dt: 44343.00 ms\n"
                   for s in range(10, 110, 10))
    r = run(generic, text)
    assert list(r.iters["step"]) == list(range(10, 110, 10))
    assert r.iters["step_ms"].iloc[3] == pytest.approx(4434.3)
    clock_only = text.replace(", dt: 44343.00 ms", "")
    assert run(generic, clock_only).iters["step_ms"].iloc[3] == pytest.approx(4434.0, rel=1e-3)
    # a dt that is one step's time beside the clock stays as it is
    one = text.replace("dt: 44343.00 ms", "dt: 4430.00 ms")
    assert run(generic, one).iters["step_ms"].iloc[3] == 4430.0

def test_a_table_of_steps_and_losses_under_its_header():
    """A trainer's own table (a JAX notebook: 'Step  Train  Val  Best', other output between
    its rows) and Hugging Face's notebook table in markdown ('No log' before the first train
    loss): each row an eval and an iteration at its step; columns nobody reads are left."""
    jax = ("SFT training: 200 steps\n  Step       Train         Val        Best\n"
           "----------------------------------------------\n"
           "    20      1.0122      1.0485      1.0485\nE0410 16:57:21.651685 342 x.cc:399] Fusion\n"
           "    40      1.0270      1.1011      1.0485\n    60      1.0783      0.9056      0.9056\n")
    r = run(generic, jax)
    assert r.iters["step"].tolist() == [20, 40, 60]
    assert r.iters["loss"].tolist() == [1.0122, 1.0270, 1.0783]
    assert r.evals["val_loss"].tolist() == [1.0485, 1.1011, 0.9056]
    hf = ("| Step | Training Loss | Validation Loss |\n|------|---------------|-----------------|\n"
          "| 500 | No log | 2.201853 |\n| 1000 | 2.316100 | 2.101853 |\n")
    r = run(generic, hf)
    assert r.evals["step"].tolist() == [500, 1000] and r.iters["step"].tolist() == [1000]
    assert r.iters["loss"].tolist() == [2.3161]
    # an epoch table: the epoch is the step; a row of another width is no row
    r = run(generic, "Epoch\tTraining Loss\tValidation Loss\n1\t2.5\t2.6\n2\t2.1\t2.3\n3 2.0\n")
    assert r.iters["step"].tolist() == [1, 2] and r.stats.skipped == 1
    assert generic.detect(jax.splitlines() + ["    80      1.0579      0.8701      0.8701"]) > 0.5


def test_what_is_no_table_header():
    from analyzer.parsers.generic_table import header_roles
    assert header_roles("  Step       Train         Val        Best") == ["step", "loss",
                                                                           "val_loss", None]
    for line in ("Step 3 Train 2.0", "Training loss", "Step  Time  Memory", "Epoch  Step  Rate",
                 "I tried another precision. It can go further but the loss still spikes.",
                 "the step where the val loss was best"):
        assert header_roles(line) is None, line


NEOX = (" samples/sec: 1.702 | iteration        1/   55000 | elapsed time per iteration (ms): "
        "18806.7 | learning rate: 1.212E-09 | approx flops per GPU: 5.7TFLOPS | lm_loss: "
        "2.275809E+00 | number of skipped iterations:   0 | number of nan iterations:   0 |\n"
        "after 1 iterations memory (MB) | allocated: 19278.6 | max allocated: 27906.7\n"
        " samples/sec: 2.721 | iteration        2/   55000 | elapsed time per iteration (ms): "
        "11761.2 | learning rate: 2.424E-09 | lm_loss: 2.105449E+00 |\n")


def test_gpt_neox_lines_put_the_rate_before_the_iteration():
    r = run(generic, NEOX + " validation results at iteration 2 | lm_loss value: 2.3E+00 | "
            "lm_loss_ppl value: 9.9E+00 |\n")
    assert list(r.iters["step"]) == [1, 2] and list(r.iters["dt_ms"]) == [18806.7, 11761.2]
    assert list(r.iters["loss"]) == [2.275809, 2.105449]
    assert list(r.iters["lr"]) == [1.212e-09, 2.424e-09] and r.iters["tokens_per_s"].isna().all()
    assert list(zip(r.evals["step"], r.evals["val_loss"])) == [(2, 2.3)]


def test_older_megatron_validation_line():
    text = ("iteration 900/3000 | elapsed time per iteration (ms): 11092.2 | lm loss 4.1E+00 |\n"
            " validation loss at iteration 1000 | LM loss: 4.503653E+00 | LM PPL: 9.03E+01\n")
    assert list(zip(run(generic, text).evals["step"], run(generic, text).evals["val_loss"])) == [
        (1000, 4.503653)]



def test_blooms_valid_loss_line_behind_a_rank_prefix():
    """Megatron-DeepSpeed as BLOOM ran it says 'valid loss', not 'validation loss'."""
    text = ("[default7]: iteration    45000/  115311 | consumed samples:     84279936 | elapsed "
            "time per iteration (s): 111.00 | lm loss: 2.334545E+00 | grad norm: 0.130 |\n"
            "[default7]:valid loss at iteration 45000 | lm loss value: 2.327091E+00 | "
            "lm loss PPL: 1.024808E+01 |\n")
    r = run(generic, text)
    assert list(zip(r.evals["step"], r.evals["val_loss"])) == [(45000, 2.327091)]

def test_deepspeeds_steps_line_and_a_second_line_of_the_same_step_are_one_iteration():
    """DeepSpeed's engine prints 'steps: N loss: X iter time (s): Y' beside GPT-NeoX's line of
    the same step: one iteration, the second line filling what the first lacks."""
    text = ("steps: 1 loss: 2.2758 iter time (s): 13.338 samples/sec: 1.200\n" + NEOX.replace(
        "2.105449E+00", "1.1E+01") + "steps: 3 loss: 9.5 iter time (s): 2.441 samples/sec: 6.5\n")
    r = run(generic, text)
    assert r.n_segments == 1 and list(r.iters["step"]) == [1, 2, 3]
    assert list(r.iters["loss"]) == [2.2758, 11.0, 9.5]
    assert list(r.iters["dt_ms"]) == [13338.0, 11761.2, 2441.0]
    assert r.iters["lr"].iloc[0] == 1.212e-09  # from the NeoX line of step 1


def test_lightning_and_nemo_epoch_bars():
    """Lightning's 'Epoch N' bar counts the epoch's steps; NeMo's per-step loss is the step's,
    not Lightning's running 'loss'; its time comes from 'train_step_timing in s', else from
    tqdm's rate (to two digits at least); a val loss in the postfix is one eval while it stays
    the same; a NeMo line glued after the bar is no part of it; 'throughput' is no tokens/s."""
    bar = ("    Epoch {e}:   0%|          | {n}/300 [59:12<1573:03:24, {rate}, loss=7.75, "
           "v_num=3-16, reduced_train_loss={l}, global_step={g}.0, throughput=0.108{extra}]{glue}")
    lines = [bar.format(e=0, n=n, rate="18.79s/it", l=7.5 + n / 1000, g=n - 1, extra="", glue="")
             for n in (189, 190)]
    lines.append(bar.format(e=0, n=191, rate="0.02it/s", l=7.91, g=190,
                            extra=", train_step_timing in s=14.60, val_loss=0.212",
                            glue="[NeMo I 2024-06-17 08:36:41 nlp_overrides:480] Removing ckpt"))
    lines.append(bar.format(e=0, n=192, rate="0.02it/s", l=7.9, g=191,
                            extra=", val_loss=0.212", glue=""))
    lines.append(bar.format(e=1, n=1, rate="0.02it/s", l=7.8, g=300, extra="", glue=""))
    r = run(generic, "\n".join(lines) + "\n")
    assert list(r.iters["step"]) == [189, 190, 191, 192, 301] and r.n_segments == 1
    assert list(r.iters["loss"]) == [7.689, 7.69, 7.91, 7.9, 7.8]
    assert list(r.iters["step_ms"][:2]) == [18790.0, 18790.0]
    # (the step's own time, as NeMo's timer takes it: a step_ms, never a dt)
    assert r.iters["step_ms"].iloc[2] == 14600.0 and r.iters["step_ms"].iloc[3:].isna().all()
    assert r.iters["dt_ms"].isna().all()
    assert list(zip(r.evals["step"], r.evals["val_loss"])) == [(191, 0.212)]
    assert r.iters["tokens_per_s"].isna().all()


def test_an_epoch_bar_without_lightnings_fields_is_no_step():
    # another script's epoch bar: its epoch summaries are the steps
    text = ("epoch 1: 100%|██████████| 4793/4793 [02:04<00:00, 38.35it/s, loss=6.452]\n"
            "Epoch 1 - 0:2:17.4 | train_loss=8.993473 | val_loss=6.757787\n"
            "epoch 2: 100%|██████████| 4793/4793 [02:04<00:00, 38.54it/s, loss=5.849]\n"
            "Epoch 2 - 0:2:16.8 | train_loss=6.185053 | val_loss=5.947635\n")
    r = run(generic, text)
    assert list(r.iters["step"]) == [1, 2] and list(r.iters["loss"]) == [8.993473, 6.185053]


@pytest.mark.parametrize("line, step, loss, step_ms", [
    ("  1|52|Loss: 2.3697006702423096:   0%|▏    | 52/25880 [00:24<3:55:01,  1.83it/s]", 52,
     2.3697006702423096, 1000 / 1.83),
    ("2|1700|Loss: 1.5:  5%|          | 75/1625 [01:00<20:00,  6.87s/it]", 1700, 1.5, 6870.0),
    # a paste that cut the bar's end, or the 'epoch|step' before '|Loss'
    ("1|228|Loss: 0.8158286809921265:   1%|          | 228/25880 [11:59<1:48:16,  3.95it/s",
     228, 0.8158286809921265, 1000 / 3.95),
    ("|Loss: nan:   0%|                         | 3/3073 [00:15<4:04:50,  4.79s/it]", 3,
     math.nan, 4790.0),
])
def test_torchtunes_bar(line, step, loss, step_ms):
    got = generic_lines.line_fields(line)
    assert got is not None and got[0] == step
    assert got[2]["loss"] == pytest.approx(loss, nan_ok=True)
    assert got[2]["step_ms"] == pytest.approx(step_ms)


def test_a_bracketed_tag_before_the_step():
    # a JAX port of modded-nanogpt tags its lines; its time is a wall-clock date (no step time)
    text = ("[METRICS (1 step stale)] step: 9  |  time: 2025-08-20 13:50:50.485907  |  loss: 6.47\n"
            "[METRICS (1 step stale)] step: 19  |  time: 2025-08-20 13:50:50.516435  |  loss: 6.04\n"
            "[METRICS (latest)] step: 20  |  val_loss: 5.9\n")
    r = run(generic, text)
    assert list(r.iters["step"]) == [9, 19] and list(r.iters["loss"]) == [6.47, 6.04]
    assert r.iters["dt_ms"].isna().all() and list(r.evals["val_loss"]) == [5.9]


def test_pytorch_quickstart_loss_and_bracketed_count():
    got = generic_lines.line_fields("loss: 2.298730  [   64/60000]")
    assert got == (64, 60000, {"loss": 2.29873}, False)
    got = generic_lines.line_fields("avg loss: 11.0153952  [2/300939], dt: 374.26ms, "
                                    "tok/sec: 5472.15")
    assert got == (2, 300939, {"loss": 11.0153952, "dt_ms": 374.26, "tokens_per_s": 5472.15},
                   False)


def test_a_step_going_back_to_where_the_run_started_is_a_new_run():
    """A benchmark's variants one after another, each from step 2 again (no checkpoint is
    that early): one run each. A log that opens mid-run and goes back below where it opened
    resumes (a checkpoint before the excerpt)."""
    blocks = ["".join(f"step {s} | loss {11 - s / 1000 + v / 1e4:.4f} | dt {100 + v}.0ms\n"
                      for s in (2, 202, 402)) for v in range(3)]
    r = run(generic, blocks[0] + "+ tf32:\n" + blocks[1] + blocks[2])
    assert [s["kind"] for s in r.segments] == ["run_start"] * 3
    mid = "".join(f"step {s} | loss 4.0 | dt 100.0ms\n" for s in (600, 650, 500, 550))
    assert [s["kind"] for s in run(generic, mid).segments] == ["run_start", "resume"]


def test_gpt2_simple_lines_step_and_clock():
    """'[10 | 28.79] loss=3.60 avg=3.60': the step, then seconds since training began."""
    text = ("[10 | 28.79] loss=3.60 avg=3.60\n[20 | 50.75] loss=3.30 avg=3.45\n"
            "[30 | 73.39] loss=3.25 avg=3.38\n")
    r = run(generic, text)
    assert list(r.iters["step"]) == [10, 20, 30] and list(r.iters["loss"]) == [3.6, 3.3, 3.25]
    assert list(r.iters["step_ms"][1:]) == pytest.approx([2196.0, 2264.0])


def test_a_printed_dict_of_tensors_and_estimated_losses():
    # a notebook prints estimate_loss()'s dict; another its 'estimated' losses on each line
    r = run(generic, "iter 0 losses {'train': tensor(4.7305), 'val': tensor(4.7241)}\n"
                     "iter 300 losses {'train': tensor(2.7305), 'val': tensor(2.7641)}\n")
    assert list(zip(r.evals["step"], r.evals["train_loss"], r.evals["val_loss"])) == [
        (0, 4.7305, 4.7241), (300, 2.7305, 2.7641)]
    text = "".join(f"Step: {s:<7d}, last seen loss: {4 - s / 100}, estimated training loss: "
                   f"{3.9 - s / 100}, estimated validation loss: {3.95 - s / 100}\n"
                   for s in (0, 40, 80))
    r = run(generic, text)
    assert list(r.iters["loss"]) == [4.0, 3.6, 3.2]
    # values that change on every line are each line's own eval, at its step
    assert list(r.evals["step"]) == [0, 40, 80]
    assert list(r.evals["val_loss"]) == pytest.approx([3.95, 3.55, 3.15])


def test_nanotrons_iteration_line_with_suffixed_numbers():
    text = "".join(f"08/31/2024 14:37:31 [INFO|DP=0|PP=0|TP=0]: iteration: {i} / 15 | "
                   f"consumed_tokens: {i * 512 / 1000:.2f}K | elapsed_time_per_iteration_ms: "
                   f"{t} | tokens_per_sec: 43.2K | lm_loss: {5.3 - i / 100:.2f} | lr: 0.0003\n"
                   for i, t in ((1, "4.71K"), (2, "11.8"), (3, "9.12")))
    r = run(generic, text)
    assert list(r.iters["step"]) == [1, 2, 3] and list(r.iters["loss"]) == [5.29, 5.28, 5.27]
    assert list(r.iters["dt_ms"]) == [4710.0, 11.8, 9.12]
    assert list(r.iters["tokens_per_s"]) == [43200.0] * 3


def test_a_time_that_only_grows_is_a_clock():
    """'iter N | loss … | lr … | 23s': seconds since the start; after eight lines growing by
    about the same per step it is read as a clock (the lines before retimed). A step time
    that drifts up unevenly, or goes back down, stays a step time."""
    secs = [23, 29, 36, 42, 49, 67, 74, 80, 87, 93, 100]
    text = "".join(f"iter {50 * k:6d} | loss {3 - k / 10:.4f} | lr 6.00e-04 | {t}s\n"
                   for k, t in enumerate(secs))
    r = run(generic, text + "  eval 500: train 1.2 | val 1.3 | 2.2 bpc\n")
    assert r.iters["dt_ms"].isna().all()
    assert list(r.iters["step_ms"][1:]) == pytest.approx(
        [(b - a) * 1000 / 50 for a, b in zip(secs, secs[1:])])
    assert list(zip(r.evals["step"], r.evals["val_loss"])) == [(500, 1.3)]
    noisy = [2762, 3500, 4800, 6000, 8300, 8400, 8500, 8600, 9000, 5000]
    text = "".join(f"iter {2 * k}: loss 2.0, time {t}ms\n" for k, t in enumerate(noisy))
    assert list(run(generic, text).iters["dt_ms"]) == noisy


@pytest.mark.parametrize(("rest", "ms"), [
    (", train_loss = 7.367, time/batch = 0.025", 25.0),        # char-rnn-tensorflow: seconds
    (", train_loss = 1.4694, time/batch = 0.4320s", 432.0),     # karpathy/char-rnn (Lua)
    ("| lr 20.0000 | ms/batch 11.43 | loss 17.74", 11.43),      # pytorch/examples
    ("  total_loss: 10.36  time: 4.2893 s/iter", 4289.3),       # LiBai's 's/iter'
    ("| ms/batch 275.91 | loss  7.64 | ppl  2081.71", 275.91),   # '{:5.2f}' pads the values
])
def test_per_batch_times_of_char_rnn_and_pytorch_examples(rest, ms):
    assert read_fields(rest)["dt_ms"] == pytest.approx(ms)
    if "loss  7.64" in rest:  # the padded loss after its label is its value, not a lone number
        assert read_fields(rest)["loss"] == 7.64
        assert read_fields("valid loss  5.56 | valid ppl   260.55")["val_loss"] == 5.56
        assert read_fields("loss: 2.3  12.3ms") == {"loss": 2.3, "dt_ms": 12.3}


def test_pytorch_examples_word_language_model_console():
    """pytorch/examples' word_language_model (and the PyTorch transformer tutorials): '|
    epoch E |  B/ N batches |' counts batches within an epoch of N, the values are padded,
    and '| end of epoch E | time: … | valid loss …' is the epoch's eval (its time is the
    epoch's, never a step's); a DDP tutorial prints every line once per '[RANK r]: '."""
    line = ("| epoch {e:3d} | {b:5d}/{n:5d} batches | lr 20.00 | ms/batch {ms:5.2f} | "
            "loss {loss:5.2f} | ppl {ppl:8.2f}\n")
    end = ("-" * 89 + "\n| end of epoch {e:3d} | time: 891.63s | valid loss {v:5.2f} | "
           "valid ppl {p:8.2f}\n" + "-" * 89 + "\n")
    text = "".join(line.format(e=1, b=b, n=600, ms=45.2 + b / 1000, loss=7 - b / 1000,
                               ppl=1000.0) for b in (200, 400, 600))
    text += end.format(e=1, v=5.56, p=260.55)
    text += "".join(line.format(e=2, b=b, n=600, ms=45.0, loss=5.5 - b / 1000, ppl=300.0)
                    for b in (200, 400))
    r = run(generic, text)
    assert r.iters["step"].tolist() == [200, 400, 600, 800, 1000]
    assert r.iters["loss"].tolist() == [6.8, 6.6, 6.4, 5.3, 5.1]
    assert r.iters["dt_ms"].tolist()[:2] == [45.4, 45.6]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[600, 5.56]]
    ranked = run(generic, "".join(f"[RANK {k}]: {x}\n" for x in text.splitlines()
                                  for k in (0, 1)))
    assert ranked.format == "generic" and ranked.evals["val_loss"].tolist() == [5.56]
    assert ranked.iters["loss"].iloc[-1] == 5.1


def test_paddlenlp_and_detectron2_style_loggers():
    """PaddleNLP pads its level ('[    INFO] - ') and PaddleFleetX names its phase ('[train]
    epoch: 0, batch: 3, …'), its step time 'avg_batch_cost: 0.71 sec'; detectron2's event
    writer (LiBai) puts the logger inside the stamp's bracket and opens with the time left
    ('eta: 22:07:15'), its loss 'total_loss'."""
    paddle = "".join(
        f"[2022-09-21 05:43:5{k},797] [    INFO] - [train] epoch: 0, batch: {k}, loss: "
        f"{11 - k / 10:.9f}, avg_batch_cost: {0.71 + k / 1000:.5f} sec, speed: 1.41 step/s, "
        f"ips_total: 92267 tokens/s, learning rate: 4.16667e-08\n" for k in range(5))
    r = run(generic, paddle)
    assert r.iters["step"].tolist() == [0, 1, 2, 3, 4]
    assert r.iters["loss"].tolist() == [11.0, 10.9, 10.8, 10.7, 10.6]
    assert r.iters["dt_ms"].tolist()[:2] == pytest.approx([710.0, 711.0])
    libai = "".join(
        f"[09/19 14:39:{40 + k} lb.utils.events]:  eta: 22:07:15  iteration: {87 + k}/18660  "
        f"total_loss: {loss}  time: 4.2893 s/iter  lr: 1.00e-05  max_mem: 60000M\n"
        for k, loss in enumerate(["10.36", "10.30", "nan"]))
    r = run(generic, libai)
    assert r.iters["step"].tolist() == [87, 88, 89] and r.iters["dt_ms"].iloc[0] == 4289.3
    assert r.iters["loss"].tolist()[:2] == [10.36, 10.30] and math.isnan(r.iters["loss"].iloc[2])


def test_a_dash_between_the_step_and_its_fields():
    """'Step 9910 - Loss: 0.0362, Load Balancing Loss: 0.1082' (a DeepSeek-MoE trainer's
    logging line): the dash separates, it is no sign; the first loss is the step's."""
    text = "".join(f"2025-02-21 12:15:{k:02d},126 - INFO - Step {9910 + 10 * k} - Loss: "
                   f"0.0{362 + k}, Load Balancing Loss: 0.1082\n" for k in range(4))
    r = run(generic, text)
    assert r.iters["step"].tolist() == [9910, 9920, 9930, 9940]
    assert r.iters["loss"].tolist() == [0.0362, 0.0363, 0.0364, 0.0365]
    assert generic_lines.line_fields("iter 3 - lr: 0.001, loss: 2.5")[2] == {"lr": 0.001,
                                                                            "loss": 2.5}


def test_keras_fits_without_an_epoch_line_and_whole_second_steps():
    """Keras 3 prints no 'Epoch 1/1' for a one-epoch fit (keras-hub's examples): its
    progress line alone is a training line at its count; an unfinished one ('2/500', its
    seconds the time left) too. Under an 'Epoch' line, '44s 1s/step' is a whole-second
    step time, not a line to drop."""
    text = ("   2/500 ━━━━━━━━━━━━━━━━━━━━  41s 84ms/step - accuracy: 0.2828 - loss: 3.7188\n"
            "W0000 00:00:1700000000.000000   123 graph_launch.cc:671] Fallback to op-by-op\n"
            " 500/500 ━━━━━━━━━━━━━━━━━━━━ 80s 81ms/step - accuracy: 0.2930 - loss: 3.6158\n")
    assert generic.detect(text.splitlines()) > 0
    r = run(generic, text)
    assert r.iters["step"].tolist() == [2, 500] and r.iters["loss"].tolist() == [3.7188, 3.6158]
    assert r.iters["step_ms"].tolist() == [84.0, 81.0]
    epochs = "".join(f"Epoch {e}/3\n43/43 [==============================] - 44s {t}/step - "
                     f"loss: {4.5 - e / 10:.4f}\n" for e, t in ((1, "1s"), (2, "980ms"),
                                                                 (3, "1s")))
    r = run(generic, epochs)
    assert r.iters["step"].tolist() == [1, 2, 3]
    assert r.iters["step_ms"].tolist() == [1000.0, 980.0, 1000.0]
