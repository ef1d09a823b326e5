"""Several runs in one file, announced by lines no format parser knows (issue #12, class 2):
a step that does not advance after a line like a run's header starts a new run; without one
it stays what it was (a resume, a duplicate, a stray line)."""
from __future__ import annotations

import pytest

from analyzer.parsers import _banner, buildnanogpt, llmc, modded, nanochat, nanogpt
from tests.analyzer._parse_util import assert_same_run, bulk_run, run

LINES = {
    nanogpt: "iter {s}: loss {l:.4f}, time 10.00ms, mfu 1.00%",
    buildnanogpt: "step {s:5d} | loss: {l:.6f} | lr 1e-4 | norm: 1.0 | dt: 100.00ms | tok/sec: 1000.0",
    llmc: "step {s:4d}/100 | loss {l:.6f} (+nanz)| norm 1.0 (+nanz)| lr 1e-4 | 100.00 ms | "
          "30.0% bf16 MFU | 1000 tok/s",
    nanochat: "step {s:05d}/00100 (1.00%) | loss: {l:.6f} | lrm: 1.00 | dt: 100.00ms | "
              "tok/sec: 1,000 | mfu: 30.00 | epoch: 1 | total time: 0.00m",
    modded: "step:{s}/100 train_loss:{l:.4f} train_time:{t}ms step_avg:100.00ms",
}
MODS = list(LINES)


def _line(mod, step: int, loss: float) -> str:
    return LINES[mod].format(s=step, l=loss, t=100 * step) + "\n"


def _kinds(r) -> list[str]:
    return [s["kind"] for s in r.segments]


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_one_line_runs_under_banners_are_runs(mod):
    # a benchmark of settings: each run prints its banner and the same single step
    text = "".join(f"MYRUN FA3={a} FP8={b}\n" + _line(mod, 10, loss)
                   for a, b, loss in [(0, 0, 8.4), (1, 0, 8.3), (1, 1, 8.2)])
    r = run(mod, text)
    assert _kinds(r) == ["run_start"] * 3
    assert r.iters["step"].tolist() == [10, 10, 10]
    assert r.iters["loss"].tolist() == [8.4, 8.3, 8.2]


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_the_same_line_after_a_banner_is_a_new_run_not_a_duplicate(mod):
    line = _line(mod, 10, 8.4)
    r = run(mod, f"seed: 1\n{line}seed: 2\n{line}")
    assert _kinds(r) == ["run_start", "run_start"] and len(r.iters) == 2
    assert "duplicate" not in [s[1] for s in r.stats.samples]


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_without_a_banner_the_old_rules_hold(mod):
    # the same step again with no banner between: a restart from a checkpoint
    r = run(mod, _line(mod, 10, 8.4) + _line(mod, 10, 8.3))
    assert _kinds(r) == ["run_start", "resume"]
    # prose between is no banner
    r = run(mod, _line(mod, 10, 8.4) + "the loss went down nicely here\n" + _line(mod, 10, 8.3))
    assert _kinds(r) == ["run_start", "resume"]
    # a line pasted twice right after itself is still one step
    line = _line(mod, 10, 8.4)
    r = run(mod, line + line)
    assert len(r.iters) == 1 and [s[1] for s in r.stats.samples] == ["duplicate"]


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_a_banner_while_the_steps_go_on_changes_nothing(mod):
    r = run(mod, _line(mod, 10, 8.4) + "Using lr=0.02\n" + _line(mod, 20, 8.3))
    assert _kinds(r) == ["run_start"] and r.iters["step"].tolist() == [10, 20]


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_a_banner_before_steps_going_back_starts_a_run_even_as_the_last_line(mod):
    # seeds in a loop, the second cut after one line: not a resume, not a stray line
    body = "".join(_line(mod, s, 5 - s / 100) for s in (10, 20, 30))
    r = run(mod, body + "Number of parameters: 124.44M\n" + _line(mod, 5, 5.0))
    assert _kinds(r) == ["run_start", "run_start"]
    assert r.iters["step"].tolist() == [10, 20, 30, 5]
    # ... and the stray line without a banner is still skipped (test_parse_endings)
    r = run(mod, body + _line(mod, 5, 5.0))
    assert r.iters["step"].tolist() == [10, 20, 30] and r.n_segments == 1


def test_banners_read_fast_and_line_by_line_agree():
    lines = [LINES[nanogpt].format(s=s, l=5 - s / 1000) for s in range(200)]
    lines += ["MYRUN SEED=2"] + [LINES[nanogpt].format(s=s, l=5 - s / 900) for s in range(100, 200)]
    data = ("\n".join(lines) + "\n").encode()
    slow = run(nanogpt, data)
    assert _kinds(slow) == ["run_start", "run_start"] and len(slow.iters) == 300
    fast = bulk_run(nanogpt, data)
    if fast is not None:  # None: the fast reader hands such a file to feed()
        assert_same_run(fast, slow)


@pytest.mark.parametrize("line", [
    "MY-NANOCHAT FA3=True FP8=False", "Using seed=1", "seed: 1337", "Seed set to 42",
    "Number of parameters: 124.44M", "number of parameters: 10.65M", "n_layer = 12",
    "dataset = 'shakespeare_char'", "python -m scripts.base_train --depth=12",
    "torchrun --standalone --nproc_per_node=8 train_gpt2.py", "==== seed 3 ====",
])
def test_lines_like_a_run_header(line):
    assert _banner.looks_like_run_header(line)


@pytest.mark.parametrize("line", [
    "the loss went down nicely here", "## Baseline bf16", "```bash", "", "...",
    "Note: this is slow", "val loss 3.2 and train loss 3.1", "x" * 400 + " seed=1",
    "a b c d e f g h=1",
])
def test_lines_unlike_a_run_header(line):
    assert not _banner.looks_like_run_header(line)


@pytest.mark.parametrize("line, n", [
    ("Total params: 1.5M", 1_500_000), ("num_parameters: 124475904 => bytes: 248951808",
                                        124475904),
    ("model_params:25517137", 25517137), ("Number of parameters: 1,024", 1024),
    ("params: 0.2", None), ("loss: 3.2", None),
    # indented in a summary block, a bulleted total with its parts, makemore's '#params'
    ("    Model parameters: 124.44M", 124_440_000),
    ("- params: total=173,455,906, non_embedding=71,056,930", 173_455_906),
    ("model #params: 9481", 9481), ("params: non_embedding=5, total=7", None),
    # Megatron-LM's unit in words; a lecture fork's 'is' and its spelling
    ("Total number of parameters in billions: 6.44", 6_440_000_000),
    ("Total number of parameters in millions: 124.5", 124_500_000),
    ("Model size is 10.788929 M paramaters", 10_788_929),
    ("model vocab size is 50304", None), ("Model size is 3 paramaters", None),
    ("  ParameterCount: 124439808", 124439808), ("param_count = 42,000", 42000),
])
def test_param_count(line, n):
    assert _banner.param_count(line) == n


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_steps_going_back_in_another_markdown_paste_are_another_run(mod):
    """Two pastes compared in notes or an issue: a code fence or a heading between them,
    and the second starts at a lower step. Another run, never a resume of the first."""
    first = "".join(_line(mod, s, 5 - s / 100) for s in (220, 230, 240))
    second = "".join(_line(mod, s, 5 - s / 90) for s in (150, 160, 170))
    for between in ("```\nWith the current master it is 40x slower.\n```\n", "### bf16\n\n"):
        r = run(mod, "```\n" + first + between + second + "```\n")
        assert _kinds(r) == ["run_start", "run_start"], between
        assert r.iters["step"].tolist() == [220, 230, 240, 150, 160, 170]


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_a_stray_line_then_lines_without_steps_is_still_a_stray_line(mod):
    """An example line pasted under a finished run, then a closing fence: the fence does
    not confirm a restart (only a next step could), so the line is set aside."""
    body = "".join(_line(mod, s, 5 - s / 100) for s in (10, 20, 30))
    r = run(mod, body + _line(mod, 5, 9.0) + "\n```\n")
    assert r.iters["step"].tolist() == [10, 20, 30] and r.n_segments == 1
    assert ("out of order" in [s[1] for s in r.stats.samples])
    # and with the old steps going on after the prose, the same
    r = run(mod, body + _line(mod, 5, 9.0) + "some prose\n" + _line(mod, 40, 4.0))
    assert r.iters["step"].tolist() == [10, 20, 30, 40] and r.n_segments == 1


def test_a_parameter_count_between_runs_is_the_second_runs():
    one = "".join(_line(nanogpt, s, 5 - s / 100) for s in (0, 10))
    r = run(nanogpt, "number of parameters: 10.65M\n" + one
            + "number of parameters: 29.94M\n" + one)
    assert _kinds(r) == ["run_start", "run_start"]
    assert r.meta["model"]["n_params"] == 29_940_000  # the last run's, as every figure


def test_an_eval_line_printed_twice_is_one_eval():
    r = run(nanochat, "Step 00000 | Validation bpb: 3.169725\n"
                      "Step 00000 | Validation bpb: 3.169725\n" + _line(nanochat, 0, 10.4)
            + _line(nanochat, 1, 10.3))
    assert _kinds(r) == ["run_start"] and r.evals["val_loss"].tolist() == [3.169725]
    assert [s[1] for s in r.stats.samples] == ["duplicate"]


@pytest.mark.parametrize("between", ["real data:\n", "> [!NOTE]\n", "[!NOTE]  \n"])
@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_a_caption_or_alert_before_steps_going_back_is_another_paste(mod, between):
    first = "".join(_line(mod, s, 5 - s / 100) for s in (10, 20, 30, 40, 50))
    second = "".join(_line(mod, s, 5 - s / 90) for s in (20, 30))
    r = run(mod, first + "\n" + between + second)
    assert _kinds(r) == ["run_start", "run_start"]


def test_a_checkpoint_line_between_a_banner_and_the_step_keeps_the_banner():
    block = ("[!NOTE]\nstep 5000: train loss 1.1115, val loss 1.1284\n"
             "saving checkpoint to out-enwik8-char\n"
             "iter 5000: loss 1.1900, time 6163.89ms, mfu 11.48%\n")
    r = run(nanogpt, block * 3)
    assert _kinds(r) == ["run_start"] * 3


def test_a_shell_prompt_launch_after_a_run_is_another_run_even_if_it_dies_at_once():
    """A 3-step run, then 'ubuntu@host:~$ python3 train.py' and a traceback with no step:
    two runs, the second failed before its first step; the first did not fail."""
    text = ("".join(f"step {s:5d} | loss: 6.0 | lr 1e-4 | norm: 1.0 | dt: 444.00ms | "
                    f"tok/sec: 36898.05\n" for s in range(3))
            + "ubuntu@129-146-181-133:~$ /usr/bin/python3 /home/ubuntu/train_gpt.py\n"
            + "Traceback (most recent call last):\n  File \"train_gpt.py\", line 3\n"
            + "AttributeError: module 'numpy' has no attribute 'int'.\n")
    r = run(buildnanogpt, text)
    assert _kinds(r) == ["run_start", "run_start"] and len(r.iters) == 3
    assert r.end["status"] == "failed" and r.end["step"] is None
    assert "end" not in r.segments[0]


def _timed(mod, step: int, loss: float, ms: float) -> str:
    return _line(mod, step, loss).replace("100.00ms", f"{ms:.2f}ms").replace(
        "10.00ms", f"{ms:.2f}ms").replace("100.00 ms", f"{ms:.2f} ms")


@pytest.mark.parametrize("mod", MODS, ids=lambda m: m.NAME)
def test_a_console_redraw_repeating_a_block_is_no_resume(mod):
    # a Windows console copied with its redraws: steps 70-90 printed again after step 90,
    # character for character. Read as a resume, the clock counted them twice
    lines = [_timed(mod, s, 9.0 - s / 100, 100.0 + s % 7) for s in range(0, 100, 10)]
    redrawn = lines[:10] + lines[7:10] + lines[10:]
    r = run(mod, "".join(redrawn))
    assert _kinds(r) == ["run_start"]
    assert r.iters["step"].tolist() == list(range(0, 100, 10))
    assert [s[1] for s in r.stats.samples] == ["duplicate"] * 3
    assert r.iters["time"].tolist() == run(mod, "".join(lines)).iters["time"].tolist()
    # a step going back whose line differs (another step time) is still a restart
    r = run(mod, "".join(lines[:10] + [_timed(mod, 70, 9.0 - 0.7, 150.0),
                                       _timed(mod, 80, 9.0 - 0.8, 150.0)]))
    assert _kinds(r) == ["run_start", "resume"]


def test_the_bulk_reader_skips_a_redraw_as_the_parser_does():
    lines = ["iter {}: loss {:.4f}, time {:.2f}ms, mfu 5.00%\n".format(
        s, 9.0 - s / 1000, 100.0 + s % 7) for s in range(3000)]
    redrawn = lines[:2001] + lines[1970:1996] + lines[2001:]
    data = "".join(redrawn).encode()
    bulk = bulk_run(nanogpt, data)
    assert bulk is not None  # read by the columns, not handed to the parser
    assert_same_run(bulk, run(nanogpt, data))
    assert len(bulk.iters) == 3000 and _kinds(bulk) == ["run_start"]
    # a file without repeats reads a resume as before, in bulk
    resumed = "".join(lines[:2001] + lines[1500:1600]).replace("time 10", "time 20").encode()
    assert _kinds(bulk_run(nanogpt, resumed)) == ["run_start", "resume"]
