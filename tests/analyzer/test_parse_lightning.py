"""Lightning CSVLogger metrics.csv: the real file (tests/data/formats/SOURCES.md) checked
against the csv module's reading of it, and small sparse inputs inline."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from analyzer.diagnostics import run_all
from analyzer.loader import load
from analyzer.parsers import lightning

REAL = Path(__file__).parent.parent / "data" / "formats" / "lightning" / \
    "slm_training_version_0_metrics.csv"


def _column(name: str) -> list[tuple[int, float]]:
    with open(REAL, newline="") as f:
        return [(int(r["step"]), float(r[name])) for r in csv.DictReader(f) if r[name]]


def test_real_metrics_csv():
    run = load(REAL)
    assert run.format == "lightning"
    train = _column("train_loss_step")
    assert list(zip(run.iters["step"], run.iters["loss"])) == train
    assert list(zip(run.evals["step"], run.evals["val_loss"])) == _column("val_loss")
    # the per-epoch average and the perplexities stay named metrics
    names = set(run.metrics["name"])
    assert {"train_loss_epoch", "val_perplexity", "epoch", "epoch_time"} <= names
    assert run.stats.skipped == 0 and run.stats.parsed == 155
    assert [f for f in run_all(run) if f.severity == "error"] == []


def test_version_directory_is_the_run(tmp_path):
    d = tmp_path / "lightning_logs" / "version_3"
    d.mkdir(parents=True)
    (d / "metrics.csv").write_bytes(REAL.read_bytes())
    (d / "hparams.yaml").write_text("lr: 0.001\n")
    assert load(d).iters.equals(load(REAL).iters)


SPARSE = ("epoch,lr-AdamW,step,train_loss,val_loss\n"
          "0,0.001,9,2.5,\n"
          "0,,9,,2.7\n"
          "1,0.0005,19,2.0,\n"
          "1,,19,,2.9\n"
          "1,0.0005,29,nan,\n")


def test_sparse_rows_interleave_train_and_val(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text(SPARSE)
    run = load(p)
    assert run.iters["step"].tolist() == [9, 19, 29]
    assert run.iters["lr"].tolist() == [0.001, 0.0005, 0.0005]  # lr-AdamW: the LR monitor
    assert run.iters["loss"].iloc[:2].tolist() == [2.5, 2.0]
    assert math.isnan(run.iters["loss"].iloc[2])
    assert run.evals["val_loss"].tolist() == [2.7, 2.9]
    assert run.anomalies["step"].tolist() == [29]


def test_bad_rows_are_skipped_with_their_line(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text(SPARSE.replace("1,,19,,2.9\n", "1,,19,2.9\n1,,x,,2.9\n"))
    run = load(p)
    assert run.stats.skipped == 2
    assert [s[0] for s in run.stats.samples] == [5, 6]
    assert "columns" in run.stats.samples[0][1] and "step" in run.stats.samples[1][1]


@pytest.mark.parametrize("head,expect", [
    (["epoch,step,train_loss", "0,9,2.5"], True),
    (["step,loss", "10,2.0", "20,1.9"], True),
    (["name,value", "a,1"], False),                     # no step column
    (["step 0: train loss 2.0, val loss 2.1"], False),  # nanoGPT
])
def test_detect(head, expect):
    assert (lightning.detect(head) >= 0.5) is expect


def test_map_a_column(tmp_path):
    p = tmp_path / "metrics.csv"
    p.write_text("step,objective\n1,3.0\n2,2.5\n")
    assert len(load(p).iters) == 0
    assert load(p, tag_map={"objective": "loss"}).iters["loss"].tolist() == [3.0, 2.5]


def test_a_scripts_metrics_csv_with_a_cumulative_clock_column(tmp_path):
    """'step,train_loss,val_loss,…,elapsed_sec' (a script's CSV, Lightning's shape): the
    clock gives each row its time and the steps between rows their mean time; an eval
    logged in an interval makes its step eval-inclusive."""
    rows = ["step,train_loss,val_loss,lr,elapsed_sec"]
    t = 1.0
    for step in range(0, 60, 10):
        t += 6.5 + (30.0 if step == 30 else 0.0)  # the eval at 20 ran in the next interval
        rows.append(f"{step},{4 - step / 100},{3.9 if step == 20 else ''},0.001,{t}")
    log = tmp_path / "metrics.csv"
    log.write_text("\n".join(rows) + "\n")
    r = load(log)
    assert r.format == "lightning" and r.iters["step"].tolist() == [0, 10, 20, 30, 40, 50]
    assert r.iters["dt_ms"].tolist()[1:] == pytest.approx([650.0, 650.0, 3650.0, 650.0, 650.0])
    assert "elapsed_sec" not in set(r.metrics["name"])
    plain = tmp_path / "plain.csv"
    plain.write_text("\n".join(",".join(r.split(",")[:4]) for r in rows) + "\n")
    assert load(plain).iters["dt_ms"].isna().all()
