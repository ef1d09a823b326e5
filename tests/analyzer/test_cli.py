"""`python -m analyzer`: commands, exit codes, one-line errors, JSON output."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from analyzer.cli import EXAMPLES, main
from analyzer.load import load
from tests.analyzer._cli_runs import healthy_events, overfit_events, write

COMMANDS = ["parse", "summary", "diagnose", "report", "compare", "watch"]


@pytest.fixture
def overfit(tmp_path):
    return str(write(tmp_path / "overfit.jsonl", overfit_events()))


@pytest.fixture
def healthy(tmp_path):
    return str(write(tmp_path / "healthy.jsonl", healthy_events()))


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "analyzer", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command, repo_root):
    r = cli(command, "--help", cwd=repo_root)
    assert r.returncode == 0
    assert "example" in r.stdout and EXAMPLES[command].split("\n")[0] in r.stdout


def test_top_level_help_lists_commands(repo_root):
    r = cli("--help", cwd=repo_root)
    assert r.returncode == 0
    for command in COMMANDS:
        assert command in r.stdout


def test_diagnose_json_and_exit_codes(overfit, capsys):
    assert main(["diagnose", overfit, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    codes = {f["code"]: f for f in out["findings"]}
    assert set(codes) == {"overfitting", "eval_spikes"}
    assert codes["overfitting"]["steps"] == [500, 900]
    assert codes["overfitting"]["evidence"]["best_step"] == 500
    assert main(["diagnose", overfit, "--fail-on", "warning"]) == 1
    assert main(["diagnose", overfit, "--fail-on", "error"]) == 0


def test_diagnose_healthy_run_is_quiet(healthy, capsys):
    assert main(["diagnose", healthy, "--fail-on", "info"]) == 0
    assert "No findings" in capsys.readouterr().out


def test_diagnose_thresholds_and_only(overfit, capsys):
    # a patience beyond the 4 evals after the best turns the overfitting finding off
    assert main(["diagnose", overfit, "--json", "--set", "patience=5"]) == 0
    assert "overfitting" not in capsys.readouterr().out
    assert main(["diagnose", overfit, "--json", "--only", "eval_spikes"]) == 0
    codes = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert codes == ["eval_spikes"]


@pytest.mark.parametrize("args, needle", [
    (["diagnose", "{tmp}/missing.log"], "missing.log: no such file"),
    (["summary", "{tmp}/garbage.txt"], "garbage.txt: not a training log"),
    (["diagnose", "{run}", "--set", "bogus=1"], "unknown diagnostics setting 'bogus'"),
    (["diagnose", "{run}", "--set", "patience=x"], "patience"),
    (["diagnose", "{run}", "--set", "spike_ratio=0.5"], "spike_ratio must be > 1"),
    (["report", "{run}", "-o", "{tmp}/report.pdf"], "must end in .png or .html"),
    (["diagnose", "{run}", "--only", "nope"], "unknown diagnostic"),
])
def test_errors_are_one_line_with_status_2(args, needle, tmp_path, overfit, capsys):
    (tmp_path / "garbage.txt").write_text("hello\nthis is not a log\n")
    argv = [a.format(tmp=tmp_path, run=overfit) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and needle in err


def test_usage_error_exits_2(repo_root):
    r = cli("diagnose", cwd=repo_root)
    assert r.returncode == 2 and "path" in r.stderr


def test_summary(overfit, capsys):
    assert main(["summary", overfit]) == 0
    out = capsys.readouterr().out
    assert "best val 1.5000 at step 500" in out and "20.0 ms/step" in out
    assert main(["summary", overfit, "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["best_val_step"] == 500 and s["findings"] == {"error": 0, "warning": 1,
                                                           "info": 1}
    assert s["throughput"]["eval_iters"] == 9 and s["throughput"]["median_step_ms"] == 20.0


def test_compare(tmp_path, capsys):
    a = write(tmp_path / "a.jsonl", overfit_events(run_id="a"))
    b = write(tmp_path / "b.jsonl", overfit_events(run_id="b", val_offset=-0.05))
    assert main(["compare", str(a), str(b), "--json"]) == 0
    c = json.loads(capsys.readouterr().out)
    assert c["val_loss"]["common_evals"] == 10
    assert c["val_loss"]["mean_diff"] == pytest.approx(-0.05)
    assert c["train_loss"]["mean_rel_diff"] == pytest.approx(0.0)
    assert main(["compare", str(a), str(b)]) == 0
    assert "-0.0500" in capsys.readouterr().out


def test_parse_our_jsonl_round_trips(overfit, tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    assert main(["parse", overfit, "-o", str(out)]) == 0
    a, b = load(overfit), load(out)
    assert len(b.iters) == len(a.iters) == 1000 and len(b.evals) == 10
    assert b.iters["loss"].tolist() == a.iters["loss"].tolist()
    assert "1011 events" in capsys.readouterr().err


@pytest.mark.parametrize("name", [
    "nanogpt/chenzihua-termux-cpu-nan-at-425.log",
    "llmc/hector-11679010-nan-from-step1-short.log",
    "build-nanogpt/agndm-1epoch-4gpu-stdout-head300.log",
])
def test_parse_foreign_logs_into_valid_events(realdata, tmp_path, name, capsys):
    from gptscope.schema import validate
    src = realdata / name
    out = tmp_path / "events.jsonl"
    assert main(["parse", str(src), "-o", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines and all(validate(json.loads(line)) == [] for line in lines)
    a, b = load(src), load(out)
    assert b.format == "gptscope"
    assert (len(b.iters), len(b.evals)) == (len(a.iters), len(a.evals))
    assert b.iters["step"].tolist() == a.iters["step"].tolist()
    assert np.allclose(b.iters["loss"], a.iters["loss"], equal_nan=True)


def test_parse_to_stdout(realdata, capsys):
    assert main(["parse", str(realdata / "nanogpt/minlora-readme-fp16-nan.log"), "-o", "-"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    iters = [e for e in events if e["type"] == "iter"]
    # 'iter 0' ... 'iter 180' every 10: 19 lines; NaN from 110 is null in JSON
    assert len(iters) == 19
    assert [e["loss"] is None for e in iters] == [e["step"] >= 110 for e in iters]
