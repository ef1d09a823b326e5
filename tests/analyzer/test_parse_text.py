"""analyzer.parsers._text: the line clean-up every stdout parser relies on."""
from __future__ import annotations

import math

import pytest

from analyzer.parsers._text import (clean_line, decode_lines, is_elision, line_stamp, literal,
                                    pipe_fields,
                                    spaced_exponent, to_float, to_int, unitless_ms)


@pytest.mark.parametrize("data, lines", [
    (b"a\nb\n", ["a", "b"]),
    (b"a\nb", ["a", "b"]),                          # a last line without newline is a line
    (b"a\r\nb\r\n", ["a", "b"]),                    # CRLF
    (b"x\rprogress\ry\n", ["x\rprogress\ry"]),      # an inner \r is kept for clean_line
    (b"\n\n", ["", ""]),
    (b"", []),
    (b"loss \xff\xfe 1.0\n", ["loss \ufffd\ufffd 1.0"]),  # not UTF-8: replaced, not fatal
])
def test_decode_lines(data, lines):
    assert decode_lines(data) == lines


@pytest.mark.parametrize("raw, clean", [
    ("iter 1: loss 2.0000, time 5.00ms, mfu 1.00%", "iter 1: loss 2.0000, time 5.00ms, mfu 1.00%"),
    ("evaluating 10/1256\revaluating 20/1256\rHellaSwag: 1/2 = 0.5", "HellaSwag: 1/2 = 0.5"),
    ("step 5 | loss 1.0\r", "step 5 | loss 1.0"),
    ("progress 1\r   \r", "progress 1"),
    ("\x1b[32m\x1b[1mINFO\x1b[0m - hello", "INFO - hello"),
    ("\x1b]0;title\x07iter 3", "iter 3"),
    ("2023-01-01 12:00:00 iter 3: loss 1.0", "iter 3: loss 1.0"),
    ("[2023-01-01T12:00:00.123Z] step 3", "step 3"),
    ("> iter 3: loss 1.0", "iter 3: loss 1.0"),
    ("> 2023-01-01 12:00:00 iter 3: loss 1.0", "iter 3: loss 1.0"),
    ("2023-01-01 12:00:00 > iter 3: loss 1.0", "iter 3: loss 1.0"),
    (">", ""),
    ("2026-02-01 20:37:26,202 - nanochat.common - \x1b[32m\x1b[1mINFO\x1b[0m - Distributed world "
     "size: 8", "Distributed world size: 8"),
    ("  File \"x.py\", line 3, in <module>   ", "  File \"x.py\", line 3, in <module>"),
    ("10 train 2.5", "10 train 2.5"),               # a number is not a timestamp
    ("\ufeffiter 0: loss 4.0", "iter 0: loss 4.0"),   # a byte-order mark
    # Python-logging prefixes in the formats people configure, and a tqdm bar glued before
    ("[2024-04-02 01:59:38][INFO][model:255] - number of parameters: 10.65M",
     "number of parameters: 10.65M"),
    (" 9%|▉         | 9/100 [00:05<00:19,  4.61it/s][2024-04-02 01:59:46][INFO][trainer:837] - "
     "step=10 loss=3.2386", "step=10 loss=3.2386"),
    ("2024-01-01 12:00:00,123 - INFO - iter 3: loss 1.0", "iter 3: loss 1.0"),
    ("INFO:root:iter 3: loss 1.0", "iter 3: loss 1.0"),
    ("WARNING:__main__:step 5: train loss 1.0, val loss 2.0", "step 5: train loss 1.0, val loss 2.0"),
    ("2024-01-01 12:00:00.123 | INFO     | train:main:42 - step 1 loss 2", "step 1 loss 2"),
    ("Training: 10%|█ | 1/10 [00:01<00:09,  1.00it/s]step 1 loss 2", "step 1 loss 2"),
    # a bar alone stays (hf_trainer reads it), and so do words that only start like a level
    (" 37%|███▋      | 1272/3414 [12:39<23:44,  1.50it/s]",
     " 37%|███▋      | 1272/3414 [12:39<23:44,  1.50it/s]"),
    ("WARNING: something", "WARNING: something"),
    ("Information: 3 steps", "Information: 3 steps"),
    # Hugging Face's example scripts ('%m/%d/%Y %H:%M:%S - LEVEL - name -') and glog (C++)
    ("10/21/2024 18:23:05 - INFO - src.trainer -   iter_dt 9.1ms; iter 1: train loss 2.1",
     "iter_dt 9.1ms; iter 1: train loss 2.1"),
    ("E20260315 22:09:46.334327 140220588404736 main.cc:386] step    1/20 | train loss 4.3",
     "step    1/20 | train loss 4.3"),
    ("I0315 22:09:46.334327 1402 trainer.cc:12] step 2", "step 2"),
    # a path in the source location (torchrun's own lines)
    ("W0429 22:01:40.690000 192639 torch/distributed/elastic/multiprocessing/api.py:908] Sending "
     "process 192709 closing signal SIGTERM", "Sending process 192709 closing signal SIGTERM"),
    # torchrun's rank prefix of a worker's output, also before a glog line
    ("[rank0]: IndexError: list index out of range", "IndexError: list index out of range"),
    # a DDP script's own rank before its lines (AMD's ROCm blog; others); build-nanogpt's
    # 'rank 0 sample 1:' stays, its parser reads it
    ("GPU/rank 1 step 500: train loss 1.5984, val loss 1.7871",
     "step 500: train loss 1.5984, val loss 1.7871"),
    ("rank 1: iter 10: loss 2.0", "iter 10: loss 2.0"),
    ("[Rank 0] step 3 | loss 2.0", "step 3 | loss 2.0"),
    ("rank 0 sample 1: Hello, I'm a language model", "rank 0 sample 1: Hello, I'm a language model"),
    ("[rank5]:E0416 04:09:58.407000 99382 select_algorithm.py:3924] [0/3] Ignoring this choice.",
     "[0/3] Ignoring this choice."),
    ("E2 is the second step", "E2 is the second step"),
    ("[2026-03-23 04:02:21] INFO: warmup_step:1/20", "warmup_step:1/20"),  # 'LEVEL: '
    ("INFO: alone it may be a message", "INFO: alone it may be a message"),
    # a notebook's output indented under its cell: the stamp still goes; an indented number
    # that is no stamp stays
    ("    09/27/2020 19:49:54 - INFO - mingpt.model -   number of parameters: 1.646387e+07",
     "number of parameters: 1.646387e+07"),
    ("    12/05 is no stamp", "    12/05 is no stamp"),
    # a line pasted in markdown's inline code (its closing backtick on the next line or not)
    ("`step:1495/1770 val_loss:3.2778 train_time:1583613ms", "step:1495/1770 val_loss:3.2778 "
     "train_time:1583613ms"),
    ("`iter 5: loss 2.0`", "iter 5: loss 2.0"),
    # torchrun's rank prefix under a notebook's indentation, a program's tag before its
    # logging stamp (torchtitan), torchrun's '--tee' prefix
    ("    [rank0]:2025-02-13 11:33:35,026 - root - INFO - step:  1  loss: 12.2417",
     "step:  1  loss: 12.2417"),
    ("[rank0]:[titan] 2025-10-30 14:32:58,897 - root - INFO - step:  1  loss:  8.1661",
     "step:  1  loss:  8.1661"),
    ("[default3]: iteration       10/ 3125000 | lm loss: 1.010967E+01",
     "iteration       10/ 3125000 | lm loss: 1.010967E+01"),
    ("[titan] no stamp after the tag", "[titan] no stamp after the tag"),
    # ezpz's one-letter level before the module ('[I][wordplay/trainer:850] '), never a
    # bracketed letter alone
    ("    [2025-07-24 17:55:58,090243][I][wordplay/trainer:850] step=460 loss=4.24269",
     "step=460 loss=4.24269"),
    ("[I] is a list item", "[I] is a list item"),
    ("```python", "```python"),
    # a log pasted into a Python string: the opening quotes glued to its first line
    ("    \'\'\'Ep 1 (Step 000000): Train loss 2.523, Val loss 2.522",
     "Ep 1 (Step 000000): Train loss 2.523, Val loss 2.522"),
    ('"""iter 0: loss 4.2, time 10.0ms', "iter 0: loss 4.2, time 10.0ms"),
    ("x = \'\'\'", "x = \'\'\'"),
    # rich's handler: '[%x %X]' (a two-digit year) and the level padded
    ("[02/04/26 16:01:45] INFO     avg loss: 11.0153952  [2/300939], dt: 374.26ms",
     "avg loss: 11.0153952  [2/300939], dt: 374.26ms"),
    # nanotron's level with its ranks; a script's name and level after a bracketed stamp
    ("08/31/2024 14:37:31 [INFO|DP=0|PP=0|TP=0]: iteration: 1 / 15 | lm_loss: 5.32",
     "iteration: 1 / 15 | lm_loss: 5.32"),
    # ... newer nanotron: month and day without a year, the host after the ranks
    ("12/21 01:39:51 [INFO|DP=0|TP=0|lrdn0007]: iteration: 211364 / 1500000 | lm_loss: 2.04",
     "iteration: 211364 / 1500000 | lm_loss: 2.04"),
    ("[2023-08-30 16:04:47,404][pretrain.py][INFO] Epoch:[0/2](0/293491) loss:11.271",
     "Epoch:[0/2](0/293491) loss:11.271"),
    # Hydra's '[stamp][name][LEVEL] - ', and a rank tag after the logging prefix
    ("[2023-08-03 17:34:50,662][trainer][INFO] - [RANK 0] iter 0: loss 3.1103, time 111.79s",
     "iter 0: loss 3.1103, time 111.79s"),
    ("[2023-08-03 17:34:50,662][trainer][INFO] - eval: train loss 3.0947, val loss 3.0770",
     "eval: train loss 3.0947, val loss 3.0770"),
])
def test_clean_line(raw, clean):
    assert clean_line(raw) == clean


@pytest.mark.parametrize("text, expected", [
    ("...", True), ("... ...", True), ("[…]", True), ("…", True), ("[...]", True),
    ("... (trunctated) ...", True), ("  ...  ", True),
    ("...and more", False), ("iter 1", False), ("", False), ("step ...: x", False),
])
def test_is_elision(text, expected):
    assert is_elision(text) is expected


@pytest.mark.parametrize("text, value", [
    ("1e-3", 1e-3), ("True", True), ("'cuda'", "cuda"), ("5000 # comment", 5000),
    ("'out-shakespeare-char'", "out-shakespeare-char"),
    ("out-shakespeare-bpe", "out-shakespeare-bpe"),       # a config dump prints strings bare
    ("'cuda' if __import__('torch').cuda.is_available() else 'cpu'",
     "'cuda' if __import__('torch').cuda.is_available() else 'cpu'"),  # never evaluated
    ("5 * 8", "5 * 8"), ("[1, 2]", [1, 2]), ("None", None),
])
def test_literal(text, value):
    assert literal(text) == value


def test_numbers():
    assert to_float("1,234.5") == 1234.5 and to_int("16,384") == 16384 and to_int("00042") == 42
    assert math.isnan(to_float("nan")) and to_float("inf") == math.inf
    assert to_float("12ms") is None and to_int("x") is None and to_float(None) is None
    # a decimal comma (llm.java on a German Windows: 'train loss 4,677650'), read as 4.67765
    # and not 4677650; a group of 3 digits stays a thousands separator
    assert to_float("4,677650") == 4.67765 and to_float("-0,5") == -0.5
    assert to_float("4,677") == 4677 and to_float("1,234,567") == 1234567


def test_pipe_fields():
    f = pipe_fields(" loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07 | 4230.95 ms "
                    "| 31.9% bf16 MFU | 123917 tok/s")
    assert f["loss"][0] == 11.009662 and f["norm"][0] == 15.0789 and f["lr"][0] == 8.57e-07
    assert f["ms"][0] == 4230.95 and f["% bf16 mfu"][0] == 31.9 and f["tok/s"][0] == 123917
    f = pipe_fields("loss: 3.6 | dt: 659.50ms | tok/sec: 794,972 | mfu: 49.69 | total time: 2.62m")
    assert f["dt"] == (659.5, "ms") and f["tok/sec"][0] == 794972 and f["total time"][0] == 2.62
    # a label with digits in it is one label (nanochat's 'bf16_mfu', not 'bf' 16)
    f = pipe_fields("loss: 10.39 | dt: 433.35ms | bf16_mfu: 2.74 | epoch: 1 pq: 0 rg: 2")
    assert f["bf16_mfu"] == (2.74, "") and f["dt"] == (433.35, "ms")
    f = pipe_fields(" loss     nan (+nanz)| norm    nan (")     # a line cut short
    assert math.isnan(f["loss"][0]) and math.isnan(f["norm"][0])
    # a build-nanogpt fork labels its field: 'elapsed_time: dt=465.2185ms' is the dt
    f = pipe_fields(" loss: 5.9140 || norm: 0.9976 || elapsed_time: dt=465.2185ms || tok/sec: 1")
    assert f["dt"] == (465.2185, "ms") and f["loss"][0] == 5.914


def test_byte_blocks_cut_after_newlines_and_keep_long_lines_whole():
    from analyzer.loader import blocks
    from analyzer.parsers._text import byte_blocks
    data = b"a\n" + b"x" * 50 + b"\nb\nc\nlast"
    parts = list(byte_blocks(data, 8))
    assert b"".join(parts) == data
    assert all(p.endswith(b"\n") for p in parts[:-1]) and parts[1] == b"x" * 50 + b"\n"
    assert list(byte_blocks(data, 8, end=data.rfind(b"\n") + 1))[-1].endswith(b"c\n")
    held = bytearray(data)  # a follower's buffer: it can still grow after its blocks are read
    assert b"".join(byte_blocks(held, 8)) == data
    held += b"\n"
    got = list(blocks(data, size=8))  # (first line number, lines): numbers stay right
    flat = [(n + i, t) for n, lines in got for i, t in enumerate(lines)]
    assert flat == [(1, "a"), (2, "x" * 50), (3, "b"), (4, "c"), (5, "last")]


def test_a_unitless_step_time_takes_the_unit_its_throughput_agrees_with():
    # 524288 tokens at 1.06M tok/s: 493 ms, whether printed as ms or as seconds
    assert unitless_ms(493.48, 524288, 1062435.81) == 493.48
    assert unitless_ms(0.49348, 524288, 1062435.81) == pytest.approx(493.48)
    # neither unit agrees, or nothing to check against: no time
    assert unitless_ms(49.3, 524288, 1062435.81) is None
    assert unitless_ms(493.48, None, 1062435.81) is None
    assert unitless_ms(493.48, 524288, None) is None


def test_spaced_exponent_joins_only_a_bare_exponent():
    assert spaced_exponent(pipe_fields("lr 6.0001 e-05 | norm 1")["lr"]) == 6.0001e-05
    # not an exponent alone: the number stays
    assert spaced_exponent(pipe_fields("lr 6.0 e-05x")["lr"]) == 6.0
    assert spaced_exponent(pipe_fields("lr 6e-4")["lr"]) == 6e-4
    assert spaced_exponent(None) is None


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-05-27 00:56:11,576 - INFO - __main__ - Step 500", (1779843371.576, 0.001)),
    ("> 10/21/2024 18:23:05 - INFO - x", (1729534985.0, 1.0)),       # quoted, US order
    ("  [2024-04-02T01:59:46.5Z] step 3", (1712023186.5, 0.1)),      # indented, bracketed
    ("step 500 2026-05-27 00:56:11", None),                          # not at the start
    ("[rank0]:[titan] 2025-10-30 14:32:58,897 - root - INFO - step: 1", (1761834778.897, 0.001)),
    ("2024-13-45 00:00:00 step 1", None),                            # no such date
])
def test_line_stamp(raw, expected):
    got = line_stamp(raw)
    assert got == (pytest.approx(expected[0]), expected[1]) if expected else got is None


def test_a_literal_caret_m_is_a_carriage_return():
    """A paste of `cat -v` output shows each \\r as '^M' (and a cursor-up escape as '[A'
    once its ESC is lost): the text after the last one is what stayed on screen."""
    line = "[A^MEpoch 0: : 60%|######| 6024/10000 [4:20:05<2:51:37, reduced_train_loss=0.0252]"
    assert clean_line(line).startswith("Epoch 0: : 60%|")
    assert clean_line("step 1^M^Mstep 2 loss 3.1") == "step 2 loss 3.1"
