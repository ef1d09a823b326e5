"""fairseq-train's console (analyzer/parsers/fairseq.py): its JSON and simple log formats."""
from __future__ import annotations

import json

import pytest

import analyzer
from analyzer.parsers import detect, fairseq
from tests.analyzer._parse_util import run

STAMP = "2021-03-08 12:{:02d}:00 | INFO | "


def _json_line(update: int, loss: float, train_wall: int, wall: int) -> str:
    fields = {"epoch": 1, "update": round(update / 1000, 3), "loss": str(loss), "ppl": "9e4",
              "num_updates": str(update), "lr": "2e-05", "gnorm": "19.8", "loss_scale": "4",
              "train_wall": str(train_wall), "gb_free": "9.3", "wall": str(wall)}
    return STAMP.format(update) + "train_inner | " + json.dumps(fields) + "\n"


JSON_LOG = (STAMP.format(0) + "fairseq_cli.train | num. model params: 13,110,865,920 "
            "(num. trained: 13,110,865,920)\n"
            + _json_line(1, 16.475, 99, 105) + _json_line(2, 16.446, 57, 161)
            + STAMP.format(2) + "fairseq.trainer | NOTE: gradient overflow detected, ignoring "
            "gradient, setting loss scale to: 2.0\n"
            + _json_line(3, 25.22, 133, 294) + _json_line(4, 18.079, 57, 351)
            + STAMP.format(5) + "fairseq_cli.train | Stopping training due to num_updates: 5 >= "
            "max_update: 5\n"
            + STAMP.format(5) + 'valid | {"epoch": 1, "valid_loss": "17.953", "valid_ppl": '
            '"253807", "valid_num_updates": "5"}\n'
            + STAMP.format(5) + 'train | {"epoch": 1, "train_loss": "19.351", '
            '"train_num_updates": "5", "train_wall": "804"}\n'
            + STAMP.format(5) + "fairseq_cli.train | done training in 798.6 seconds\n")


def test_the_json_format():
    """Steps are num_updates; train_wall over each interval's updates is the step time (none
    for the first line); the valid line is the eval of its valid_num_updates; max_update
    stops the run there, past the last interval line; the epoch summary is no step."""
    r = run(fairseq, JSON_LOG)
    assert r.iters["step"].tolist() == [1, 2, 3, 4]
    assert r.iters["loss"].tolist() == [16.475, 16.446, 25.22, 18.079]
    assert r.iters["step_ms"].tolist()[1:] == [57000.0, 133000.0, 57000.0]
    assert r.iters["time"].tolist() == [105.0, 161.0, 294.0, 351.0]
    assert r.iters["grad_norm"].tolist() == [19.8] * 4
    assert r.evals[["step", "val_loss"]].values.tolist() == [[5, 17.953]]
    assert r.end["status"] == "completed" and r.end["step"] == 5
    assert r.meta["model"]["n_params"] == 13_110_865_920
    assert r.metrics[r.metrics["name"] == "loss_scale"]["value"].tolist() == [2.0]


def test_the_simple_formats_and_a_cumulative_train_wall():
    """Before 0.10 ('| epoch 180:    543 / 546 loss=…, num_updates=98132, …, wall=…,
    train_wall=…'), train_wall is cumulative: the step time is its difference; the epoch's
    summary line is no step, the 'valid on' line is an eval."""
    lines = [f"| epoch 180:    {543 + i} / 546 loss={1.753 - i / 1000:.3f}, ppl=3.37, "
             f"num_updates={98132 + i}, lr=0.0001, gnorm=0.523, loss_scale=16.000, "
             f"wall={490568 + 5 * i}, train_wall={450575 + 4 * i}" for i in range(3)]
    lines += ["| epoch 180 | loss 1.753 | ppl 3.37 | num_updates 98134 | wall 490578",
              "| epoch 180 | valid on 'valid' subset | loss 1.811 | ppl 3.51 | num_updates 98134"]
    r = run(fairseq, "\n".join(lines) + "\n")
    assert r.iters["step"].tolist() == [98132, 98133, 98134]
    assert r.iters["step_ms"].tolist()[1:] == [4000.0, 4000.0]
    assert r.evals[["step", "val_loss"]].values.tolist() == [[98134, 1.811]]


def test_the_simple_format_of_fairseq_0_10_with_its_logger():
    text = "".join(f"2020-06-26 10:00:{i:02d} | INFO | train_inner | epoch 001:     {10 * i} / "
                   f"1000 loss={9.8 - i / 10:.3f}, ppl=899.1, wps=12345, num_updates={10 * i}, "
                   f"lr=0.0005, gnorm=1.2, train_wall={3 + i % 2}, wall={20 * i}\n"
                   for i in range(1, 5))
    r = run(fairseq, text)
    assert r.iters["step"].tolist() == [10, 20, 30, 40]
    assert r.iters["step_ms"].tolist()[1:] == [300.0, 400.0, 300.0]  # per-interval train_wall


def test_detection_and_loading(tmp_path):
    assert detect(JSON_LOG.splitlines()) == "fairseq"
    log = tmp_path / "train.log"
    log.write_text(JSON_LOG)
    assert analyzer.load(log).format == "fairseq"


@pytest.mark.parametrize("line", ["| train_inner | {not json}", 'valid | {"epoch": 1}'])
def test_bad_lines_are_skipped_and_counted(line):
    r = run(fairseq, JSON_LOG + line + "\n")
    assert len(r.iters) == 4 and len(r.evals) == 1
    assert r.stats.skipped == 1 and r.stats.samples[-1][0] == JSON_LOG.count("\n") + 1


def test_a_paste_of_epoch_summaries_alone_reads_them_as_steps():
    """No interval lines: each '| epoch 043 | loss … | num_updates 39302 | …' summary is its
    epoch's last update, its cumulative train_wall timing the updates between; the old
    valid line's 'valid_loss' is its loss. Interval lines, once seen, say the steps."""
    text = "".join(f"| epoch 0{e} | loss {2900 - e} | ppl inf | num_updates {39302 + (e - 43) * 914}"
                   f" | lr 2.5e-05 | gnorm 17.3 | wall {9326 + (e - 43) * 217} | train_wall "
                   f"{8854 + (e - 43) * 206}\n| epoch 0{e} | valid on 'valid' subset | valid_loss "
                   f"{2400 - e} | num_updates {39302 + (e - 43) * 914} | best 2322.05\n"
                   for e in (43, 44, 45))
    assert fairseq.detect(text.splitlines()) > 0.9
    r = run(fairseq, text)
    assert r.iters["step"].tolist() == [39302, 40216, 41130]
    assert r.iters["step_ms"].tolist()[1:] == pytest.approx([206000 / 914] * 2)
    assert r.evals["val_loss"].tolist() == [2357.0, 2356.0, 2355.0]
    inner = ("| epoch 001:     10 / 1000 loss=9.812, ppl=899.1, num_updates=10, wall=50\n"
             "| epoch 001 | loss 9.7 | ppl 830.1 | num_updates 1000 | wall 900\n")
    assert run(fairseq, inner).iters["step"].tolist() == [10]
