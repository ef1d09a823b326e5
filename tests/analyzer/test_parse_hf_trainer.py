"""Hugging Face Trainer: trainer_state.json and the stdout dict lines (with tqdm bars).
Real files: tests/data/formats/hf_trainer (SOURCES.md); expected values are read here with
json / by hand from the files, not through the parser."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from analyzer.diagnostics import run_all
from analyzer.loader import load
from analyzer.parsers import hf_trainer
from gptscope.schema import validate
from tests.analyzer._parse_util import run

HF = Path(__file__).parent.parent / "data" / "formats" / "hf_trainer"
STATE = HF / "llm-training_trainer_state.json"


def _loaded(tmp_path: Path, text: str):
    """The Run of ``text`` written as a log file."""
    p = tmp_path / "train.log"
    p.write_text(text, encoding="utf-8")
    return load(p)


def test_real_trainer_state():
    history = json.loads(STATE.read_text())["log_history"]
    run = load(STATE)
    assert run.format == "hf_trainer_state"
    logs = [h for h in history if "loss" in h]
    assert run.iters["step"].tolist() == [h["step"] for h in logs] == [10, 20, 30, 40]
    assert run.iters["loss"].tolist() == [h["loss"] for h in logs]
    assert run.iters["lr"].tolist() == [h["learning_rate"] for h in logs]
    assert run.iters["grad_norm"].tolist() == [h["grad_norm"] for h in logs]
    # the run average is a metric, not a 5th loss; the last entry says the run finished
    m = run.metrics.set_index("name")
    assert m.loc["train_loss", "value"] == history[-1]["train_loss"]
    assert run.end["status"] == "completed" and run.end["wall_s"] == 472.0904
    assert run.meta["max_iters"] == 45 and run.meta["config"]["logging_steps"] == 10


def test_state_directory_and_eval_loss(tmp_path):
    history = [{"step": s, "loss": 3.0 - s / 100, "learning_rate": 1e-4, "epoch": s / 50}
               for s in range(10, 210, 10)]
    history += [{"step": s, "eval_loss": v, "eval_runtime": 1.0}
                for s, v in ((50, 2.6), (100, 2.5), (150, 2.7), (200, 2.9))]
    ckpt = tmp_path / "checkpoint-200"
    ckpt.mkdir()
    (ckpt / "trainer_state.json").write_text(json.dumps(
        {"global_step": 200, "max_steps": 1000, "log_history": history}, indent=2))
    run = load(ckpt)
    assert run.evals["step"].tolist() == [50, 100, 150, 200]
    assert run.evals["val_loss"].tolist() == [2.6, 2.5, 2.7, 2.9]
    assert run.end is None  # no train_runtime: stopped at a checkpoint
    # val loss rising while train loss falls: the overfitting diagnostic sees it
    assert "overfitting" in {f.code for f in run_all(run)}


def test_state_bad_entries_are_skipped_and_counted(tmp_path):
    p = tmp_path / "trainer_state.json"
    p.write_text(json.dumps({"best_metric": None, "log_history": [
        {"step": 1, "loss": 2.0}, {"loss": 1.9}, "junk", {"step": 3, "loss": 1.8}]}, indent=2))
    run = load(p)
    assert run.iters["step"].tolist() == [1, 3]
    assert run.stats.skipped == 2 and run.stats.samples[0][0] == 2


def test_real_stdout_dicts_without_bars_count_logging_steps():
    run = load(HF / "transformers-pr35207-stdout.log")
    assert run.format == "hf_trainer"
    assert run.iters["step"].tolist() == [1, 2, 3, 4, 5, 6]
    assert run.iters["loss"].tolist() == [2.119, 1.6462, 1.5798, 1.6039, 1.2141, 1.1649]
    assert run.iters["grad_norm"].iloc[0] == 37.657958984375
    assert run.iters["lr"].iloc[-1] == 2.5e-05
    assert sorted(set(run.metrics["name"])) == ["epoch"]
    assert run.stats.skipped == 0


def test_real_stdout_eval_dict_belongs_to_the_step_before():
    run = load(HF / "sentence-transformers-pr2449-stdout.log")
    assert len(run.iters) == 10 and run.n_segments == 1
    assert run.evals[["step", "val_loss"]].values.tolist() == [[10, 1.2490781545639038]]
    names = set(run.metrics["name"])
    assert {"eval_pearson_cosine", "eval_runtime", "epoch"} <= names


BARS = (
    "  0%|          | 0/400 [00:00<?, ?it/s]\r  2%|▎         | 10/400 [00:20<13:00,  2.00s/it]"
    "{'loss': 4.7883, 'grad_norm': 2.1165, 'learning_rate': 4.875e-05, 'epoch': 0.03}\n"
    "  5%|▌         | 20/400 [00:30<06:37,  1.05s/it]\r"
    "{'loss': '4.6477', 'grad_norm': '2.48', 'learning_rate': '4.75e-05', 'epoch': '0.05'}\n"
    "\n"
    "  0%|          | 0/8 [00:00<?, ?it/s]\r 50%|█████     | 4/8 [00:01<00:01,  3.9it/s]\r"
    "{'eval_loss': 4.5, 'eval_runtime': 2.1, 'epoch': 0.05}\n"
    "  8%|▊         | 30/400 [00:40<06:04,  1.02it/s]{'loss': nan, 'grad_norm': nan, "
    "'learning_rate': 4.625e-05, 'epoch': 0.08}\n"
    "{'train_runtime': 41.0, 'train_samples_per_second': 7.3, 'train_loss': 4.6, 'epoch': 0.08}\n"
    "100%|██████████| 30/30 [00:41<00:00,  1.10it/s]\n")


def test_tqdm_bars_give_steps_rates_and_times(tmp_path):
    p = tmp_path / "train.log"
    p.write_text(BARS, encoding="utf-8")
    run = load(p)
    it = run.iters
    assert run.format == "hf_trainer"
    # steps from the training bar (the eval bar's 4/8 is not one), in both value styles
    assert it["step"].tolist() == [10, 20, 30]
    assert it["loss"].iloc[:2].tolist() == [4.7883, 4.6477] and math.isnan(it["loss"].iloc[2])
    np.testing.assert_allclose(it["dt_ms"], [2000.0, 1050.0, 1000 / 1.02])
    assert it["time"].tolist() == [20.0, 30.0, 40.0]  # the bar's elapsed clock
    assert run.evals[["step", "val_loss"]].values.tolist() == [[20, 4.5]]
    assert run.anomalies["kind"].tolist() == ["nonfinite_loss", "nonfinite_grad"]
    assert run.end["status"] == "completed"
    assert run.stats.skipped == 0


def test_the_final_bar_says_where_the_run_completed(tmp_path):
    """The training bar's last count (69/69) after the last logging step's dict (60): the
    run completed at 69, the summary's last step."""
    from analyzer.stats import summarize
    r = _loaded(tmp_path,
                " 72%|███████▏  | 50/69 [48:50<18:13, 57.57s/it]{'loss': 1.0789, 'epoch': 2.18}\n"
                " 87%|████████▋ | 60/69 [59:04<09:11, 61.33s/it]{'loss': 0.7682, 'epoch': 2.63}\n"
                "100%|██████████| 69/69 [1:07:25<00:00, 58.63s/it]\n"
                "{'train_runtime': 4045.3, 'train_loss': 2.27, 'epoch': 3.0}\n")
    assert r.iters["step"].tolist() == [50, 60]
    assert r.end["status"] == "completed" and r.end["step"] == 69
    s = summarize(r)
    assert s["last_step"] == 69 and s["reached_step"] is None


def test_dicts_printed_above_their_bars_and_an_evaluation_after_the_run(tmp_path):
    """A paste whose bars come below their dicts: an eval dict after a bar is at the bar's
    count; after the run's train_runtime dict, a bar (an evaluation's) counts no step."""
    r = _loaded(tmp_path,
                "  {'loss': 0.3141, 'grad_norm': 0.018, 'learning_rate': 4.8e-05, 'epoch': 0.18}\n"
                "    7%|▋         | 1000/13605 [1:49:30<22:57:14,  6.56s/it]\n"
                "  {'loss': 0.0152, 'grad_norm': 0.006, 'learning_rate': 4.6e-05, 'epoch': 0.37}\n"
                "   88%|████████▊ | 12000/13605 [27:54:35<3:02:12,  6.81s/it]\n"
                "  {'eval_loss': 0.5, 'eval_runtime': 3468.0, 'epoch': 4.41}\n"
                "  100%|██████████| 13605/13605 [30:56:55<00:00,  8.19s/it]\n"
                "  {'train_runtime': 111415.7, 'train_loss': 0.0218, 'epoch': 5.0}\n"
                "  100%|██████████| 25000/25000 [58:03<00:00,  7.18it/s]\n"
                "  Evaluation Results: {'eval_loss': 0.0138, 'eval_runtime': 3483.8, "
                "'epoch': 4.99}\n")
    assert r.evals["step"].tolist()[0] == 12000
    assert r.end["step"] == 13605 and max(r.evals["step"]) == 13605


def test_an_eval_dict_whose_first_key_has_a_hyphen_is_read(tmp_path):
    """'eval_rouge-1' first (a generation eval): the dict is still the eval's, its loss read."""
    r = _loaded(tmp_path, "{'loss': 4.1, 'learning_rate': 5e-05, 'epoch': 0.1}\n"
                 "{'eval_rouge-1': 29.97, 'eval_bleu-4': 0.025, 'eval_loss': 3.9, "
                 "'eval_runtime': 104.8, 'epoch': 0.1}\n"
                 "{'loss': 3.8, 'learning_rate': 5e-05, 'epoch': 0.2}\n")
    assert r.evals[["step", "val_loss"]].values.tolist() == [[1, 3.9]]
    assert "eval_rouge-1" in set(r.metrics["name"]) and r.stats.skipped == 0


def test_stream_equals_whole_file_and_events_are_valid():
    lines = BARS.split("\n")[:-1]
    whole = hf_trainer.Parser("x")
    events = whole.feed(lines, 1) + whole.finish()
    pieces = hf_trainer.Parser("x")
    split = []
    for i in range(len(lines)):
        split += pieces.feed(lines[i:i + 1], i + 1)
    split += pieces.finish()
    assert events == split
    assert all(validate(e) == [] for e in events)


def test_map_applies_to_stdout_keys(tmp_path):
    p = tmp_path / "train.log"
    p.write_text("{'loss': 2.0, 'my_speed': 300.0, 'epoch': 0.1}\n"
                 "{'loss': 1.9, 'my_speed': 310.0, 'epoch': 0.2}\n")
    run = load(p, tag_map={"my_speed": "tokens_per_s"})
    assert run.iters["tokens_per_s"].tolist() == [300.0, 310.0]


@pytest.mark.parametrize("line", ["{'loss': 1e999, 'epoch': 1}", "{'loss': , 'epoch': 1}",
                                  "{'eval_loss': 'x', 'epoch': " + "9" * 400 + "}"])
def test_odd_values_never_crash(tmp_path, line):
    p = tmp_path / "train.log"
    p.write_text("{'loss': 2.0, 'learning_rate': 1e-4, 'epoch': 0.1}\n" + line + "\n")
    run = load(p)
    assert run.iters["loss"].iloc[0] == 2.0


@pytest.mark.parametrize("line", ["1" * 200_000, "{'loss'" * 50_000, "1/" * 100_000 + "it/s",
                                  ("9" * 5000 + "/") * 20 + "it/s", "1/1 [" * 30_000 + "s/it"])
def test_hostile_lines_cost_linear_time(line):
    import time
    from analyzer.parsers import hf_state, lightning
    t = time.perf_counter()
    for mod in (hf_trainer, hf_state, lightning):
        mod.detect([line])
    p = hf_trainer.Parser()
    p.feed([line], 1)
    p.finish()
    lightning.Parser().feed(["step,loss", line], 1)
    assert time.perf_counter() - t < 1.0  # ~0.1 s here; quadratic patterns took seconds


def test_a_dict_after_a_bar_still_at_0_is_step_1(tmp_path):
    """The bar prints 0/N before the first optimizer step; the first dict comes after that
    step, before the bar's next update (TRL's GRPO logs every step)."""
    r = _loaded(tmp_path, "  0%|          | 0/11208 [00:00<?, ?it/s]\n"
                "{'loss': 0.0, 'grad_norm': 8.59, 'learning_rate': 2.67e-09, 'epoch': 0.0}\n"
                "  0%|          | 1/11208 [02:02<381:05:58, 122.42s/it]\n")
    assert r.iters["step"].tolist() == [1]


def test_the_eval_metrics_block_of_an_example_script(tmp_path):
    """run_clm.py's closing '***** eval metrics *****' block ('  eval_loss = nan'): one more
    evaluation, at the last logged step; the eval's own progress bar before it is no step."""
    block = ("***** eval metrics *****\n  epoch                   =        3.0\n"
             "  eval_loss               =     {}\n  eval_runtime            = 0:00:07.21\n"
             "  perplexity              =     {}\n")
    dicts = "".join(f"{{'loss': {3 - s / 10}, 'learning_rate': 5e-05, 'epoch': {s / 10}}}\n"
                    for s in range(1, 4))
    r = _loaded(tmp_path, dicts + "100%|██████████| 2/2 [00:00<00:00,  2.55it/s]\n"
                + block.format("2.4512", "11.60"))
    assert r.format == "hf_trainer" and r.iters["step"].tolist() == [1, 2, 3]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[3, 2.4512]]
    alone = _loaded(tmp_path, "100%|██████████| 2/2 [00:00<00:00,  2.55it/s]\n"
                    + block.format("nan", "nan"))
    assert alone.format == "hf_trainer" and not len(alone.iters)
    assert alone.evals["step"].isna().all() and alone.evals["val_loss"].isna().all()
    found = [f for f in run_all(alone) if f.code == "nonfinite_loss"]
    assert found and found[0].steps is None and "no step" in found[0].message


@pytest.mark.parametrize("setting", ["Command: deepspeed --module training.trainer "
                                     "--logging-steps 10 --save-steps 200 --lr 5e-6",
                                     "logging_steps=10,", "  --logging_steps=10 \\"])
def test_dicts_without_bars_count_the_printed_logging_interval(tmp_path, setting):
    """No progress bar (cleared, or disabled): the dicts are the logging steps the command
    line or TrainingArguments' repr names, not 1, 2, 3 (dolly issue 202)."""
    dicts = "".join(f"{{'loss': {2 - k / 10}, 'learning_rate': 5e-06, 'epoch': {k / 100}}}\n"
                    for k in range(1, 6))
    r = _loaded(tmp_path, setting + "\n" + dicts)
    assert r.iters["step"].tolist() == [10, 20, 30, 40, 50]
    # a fraction (a ratio of the total steps, newer transformers) says no interval
    r = _loaded(tmp_path, "logging_steps=0.1,\n" + dicts)
    assert r.iters["step"].tolist() == [1, 2, 3, 4, 5]


def _dicts(n: int, first: int = 1) -> str:
    """n Trainer dicts without step or bar, for steps first, first + 1, ..."""
    return "".join(f"{{'loss': {2 - k / 100}, 'learning_rate': 5e-05, 'epoch': {k / 100}}}\n"
                   for k in range(first, first + n))


def test_train_runtime_less_the_evals_is_the_step_time_when_no_step_is_timed(tmp_path):
    """No bar, no clock: the Trainer's train_runtime over its steps, less the evals' own
    eval_runtime (inside it), is the step time; an evaluate() after the training is not in
    the runtime (judybot's gpt2-medium log: (1245.23 - 24.87) s / 447 steps)."""
    evals = "{'eval_loss': 1.5, 'eval_runtime': 12.5, 'eval_steps_per_second': 2.0, 'epoch': 0.02}\n"
    final = ("{'train_runtime': 130.0, 'train_samples_per_second': 4.0, "
             "'train_steps_per_second': 0.033, 'train_loss': 1.9, 'epoch': 0.04}\n")
    after = "{'eval_loss': 1.4, 'eval_runtime': 500.0, 'epoch': 0.04}\n"
    r = _loaded(tmp_path, _dicts(2) + evals + _dicts(2, first=3) + final + after)
    assert r.iters["step"].tolist() == [1, 2, 3, 4]
    assert r.evals["eval_ms"].tolist()[0] == 12500.0 and math.isnan(r.evals["eval_ms"].iloc[1])
    assert r.end["status"] == "completed" and r.end["wall_s"] == 130.0 and r.end["steps"] == 4
    from analyzer.stats import summarize
    t = summarize(r)["throughput"]
    assert t["step_ms_basis"] == "total" and t["median_step_ms"] == pytest.approx(29375.0)
    assert t["wall_s"] == 130.0 and t["eval_overhead_frac"] == pytest.approx(12.5 / 130)
    # a timed log keeps its medians
    timed = _loaded(tmp_path, "".join(
        f" {k}%|█| {k}/9 [00:{k:02d}<00:30,  2.00s/it]{{'loss': 1.{k}, 'epoch': 0.{k}}}\n"
        for k in range(1, 9)) + final)
    assert summarize(timed)["throughput"]["step_ms_basis"] == "steps"
    assert summarize(timed)["throughput"]["median_step_ms"] == 2000.0


def test_steps_per_second_counts_steps_that_no_logging_interval_names(tmp_path):
    """Dicts with no bar and no printed interval count 1, 2, 3; the Trainer's own
    train_steps_per_second x train_runtime says how many steps ran (chatmd: 1272 dicts,
    0.822 steps/s for 15,476 s: 12,721 steps, 1.2 s each), unless it agrees with the count
    within its rounding (5 steps at 0.004 steps/s for 1229 s)."""
    final = ("{{'train_runtime': {}, 'train_samples_per_second': 9.9, "
             "'train_steps_per_second': {}, 'train_loss': 1.9, 'epoch': 20.0}}\n")
    r = _loaded(tmp_path, _dicts(10) + final.format(1547.6, 0.822))
    assert r.end["steps"] == 1272 and r.end["step"] == 10
    from analyzer.stats import summarize
    assert summarize(r)["throughput"]["median_step_ms"] == pytest.approx(1547600 / 1272)
    r = _loaded(tmp_path, _dicts(5) + final.format(1228.98, 0.004))
    assert r.end["steps"] == 5


def test_the_train_metrics_block_ends_the_run_with_its_runtime(tmp_path):
    """run_clm.py's '***** train metrics *****' block alone (no train_runtime dict): the run
    completed, its runtime a clock ('0:03:40.69'), as the eval block's eval_runtime."""
    block = ("***** train metrics *****\n  epoch                    =        3.0\n"
             "  train_loss               =     5.6865\n"
             "  train_runtime            = 0:03:40.69\n"
             "  train_steps_per_second   =      1.074\n"
             "***** eval metrics *****\n  eval_loss = 5.6\n  eval_runtime = 0:00:30.50\n")
    r = _loaded(tmp_path, _dicts(3) + block)
    assert r.end["status"] == "completed" and r.end["wall_s"] == pytest.approx(220.69)
    assert r.iters["step"].tolist() == [1, 2, 3] and r.end["steps"] == 237
    # the eval after the training is not in its runtime: no eval_ms
    assert r.evals["val_loss"].tolist() == [5.6] and r.evals["eval_ms"].isna().all()


def test_a_paste_cut_before_the_first_dict_has_its_bars_steps(tmp_path):
    """The Trainer's banner, then bars and no dict (an issue's paste up to an error at step
    9): the bars' counts are the steps, their rates the step times; once a dict comes, the
    dicts say the steps (the bars before it are no steps of their own)."""
    banner = ("[INFO|trainer.py:2432] 2025-08-08 07:25:52,030 >> ***** Running training *****\n"
              "[INFO|trainer.py:2440] 2025-08-08 07:25:52,030 >>   Total optimization steps = 352\n")
    bars = ("  0%|          | 0/352 [00:00<?, ?it/s]\n"
            "  0%|          | 1/352 [04:50<28:17:51, 290.23s/it]\n"
            "  1%|          | 2/352 [09:48<28:38:54, 294.67s/it]\n")
    r = _loaded(tmp_path, banner + bars)
    assert r.format == "hf_trainer" and r.iters["step"].tolist() == [1, 2]
    assert r.iters["dt_ms"].tolist() == pytest.approx([290230.0, 294670.0])
    assert r.iters["loss"].isna().all()
    crashed = _loaded(tmp_path, banner + bars + "Traceback (most recent call last):\n"
                      '  File "train.py", line 3, in <module>\n'
                      "torch.OutOfMemoryError: CUDA out of memory.\n")
    assert crashed.iters["step"].tolist() == [1, 2] and crashed.end["status"] == "failed"
    later = _loaded(tmp_path, banner + bars.replace("352", "4") + _dicts(1, first=2))
    assert later.iters["step"].tolist() == [2] and later.iters["loss"].tolist() == [1.98]


def test_a_paste_starting_at_a_dict_takes_the_step_of_the_bar_redrawn_after_it():
    """A paste that starts at a dict (its bar cut off above): the bars redrawn after it show
    its step ('{loss}', 2564/10485, 2565/10485, '{loss}'); a lone bar between two dicts is
    the second one's (a bar before each dict), as before."""
    bar = " 24%|##4       | {n}/10485 [3:15:13<10:06:35,  4.59s/it]\n"
    text = ("{'loss': 0.6623, 'learning_rate': 0.000176, 'epoch': 0.24}\n"
            + bar.format(n=2564) + bar.format(n=2565)
            + "{'loss': 0.8022, 'learning_rate': 0.000176, 'epoch': 0.24}\n")
    assert run(hf_trainer, text).iters["step"].tolist() == [2564, 2565]
    lone = ("{'loss': 0.31, 'learning_rate': 4.8e-05, 'epoch': 0.18}\n" + bar.format(n=1000)
            + "{'loss': 0.02, 'learning_rate': 4.6e-05, 'epoch': 0.37}\n")
    assert run(hf_trainer, lone).iters["step"].tolist() == [1, 1000]


def test_dicts_of_loss_and_grad_norm_alone_are_the_trainers():
    """A paste cut down to '{'loss': 1.46,  'grad_norm':    14.98}' lines is still read."""
    text = "".join(f"{{'loss': 1.{i}6,  'grad_norm':    {10 + i}.98}}\n" for i in range(5))
    assert hf_trainer.detect(text.splitlines()) > 0
    assert run(hf_trainer, text).iters["loss"].tolist() == [1.06, 1.16, 1.26, 1.36, 1.46]
