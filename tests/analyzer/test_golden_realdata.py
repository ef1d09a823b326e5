"""`golden` + `check` on a real log of every format the analyzer reads (issue #17 item 2):
a healthy log is its own baseline, whatever losses its format prints. llm.c, build-nanogpt
and modded-nanogpt print only a val loss at an eval; a modded-nanogpt record may print no
train loss at all. What a format does not print is absent from the baseline, not a NaN."""
from __future__ import annotations

import json
import re

import pytest

from analyzer.cli import main

# one healthy log per format (tests/data/realdata/SOURCES.md), with what it prints:
# (path, train loss printed, train-side eval loss printed)
LOGS = {
    "nanogpt": ("nanogpt/wilcoooo-shakespeare-char-tiny-cuda.log", True, True),
    "build-nanogpt": ("build-nanogpt/agndm-1epoch-4gpu-stdout-head300.log", True, False),
    "llmc": ("llmc/hector-11685414-full-run-a100.log", True, False),
    "modded": ("modded-nanogpt/2024-10-10-muon-train_loss-format.log", True, False),
    "modded-no-train-loss": ("modded-nanogpt/2024-12-10-mfutweaks-no-train_loss.log",
                             False, False),
    "nanochat": ("nanochat/pr492-speedrun-d24-base_train-8xH100-head400.log", True, False),
}


def run_cli(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", LOGS)
def test_a_healthy_log_of_every_format_is_its_own_baseline(name, realdata, tmp_path, capsys):
    path, has_train, has_eval_train = LOGS[name]
    log, out = realdata / path, tmp_path / "b.json"
    code, _, err = run_cli(capsys, "golden", log, "-o", out)
    assert code == 0, err
    b = json.loads(out.read_text())
    assert (b["train_loss"] is not None) == has_train
    evals = b["evals"].values()
    assert all(("train_loss" in row) == has_eval_train and "val_loss" in row for row in evals)
    if evals:   # the last val loss printed in the log, read here with a regex of our own
        vals = re.findall(r"(?:val loss|val_loss|validation loss|Validation bpb|val\s)"
                          r"[:=]?\s*(\d+\.\d+)",
                          log.read_text(errors="replace"))
        assert b["final_val_loss"]["value"] == pytest.approx(float(vals[-1]), abs=1e-6)
    for mode in ("exact", "tolerance"):
        code, text, err = run_cli(capsys, "check", log, "--baseline", out, "--mode", mode)
        assert (code, err) == (0, ""), text
        assert text.startswith("golden check: PASS")


def test_a_baseline_without_train_loss_checks_the_evals(realdata, tmp_path, capsys):
    log = realdata / LOGS["modded-no-train-loss"][0]
    out = tmp_path / "b.json"
    assert run_cli(capsys, "golden", log, "-o", out)[0] == 0
    b = json.loads(out.read_text())
    b["evals"]["1000"]["val_loss"] *= 1.05           # the run now differs at one eval
    out.write_text(json.dumps(b))
    code, text, _ = run_cli(capsys, "check", log, "--baseline", out, "--json")
    rows = [r for r in json.loads(text)["rows"] if r["status"] != "ok"]
    assert code == 1 and [(r["metric"], r["step"]) for r in rows] == [("val_loss", 1000)]


def test_a_run_without_the_train_loss_its_baseline_has_fails(realdata, tmp_path, capsys):
    # baseline from a log with train losses, run from one without: nothing to compare is
    # a failure, not a pass
    out = tmp_path / "b.json"
    assert run_cli(capsys, "golden", realdata / LOGS["modded"][0], "-o", out)[0] == 0
    code, text, _ = run_cli(capsys, "check", realdata / LOGS["modded-no-train-loss"][0],
                            "--baseline", out, "--json")
    problems = {p["kind"]: p for p in json.loads(text)["problems"]}
    points = len(json.loads(out.read_text())["train_loss"]["values"])
    assert code == 1 and problems["no_train_loss"]["fatal"] and points > 100
    assert f"the run has no train loss; the baseline has {points} points" in \
        problems["no_train_loss"]["message"]
