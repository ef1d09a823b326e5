"""`python -m analyzer`: commands, exit codes, one-line errors, JSON output."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from analyzer.cli import EXAMPLES, main
from analyzer.loader import load
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
    (["diagnose", "{run}", "--only", "nope"], "unknown diagnostic code(s) nope; known: "),
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


# -- a gate never passes on nothing (issue #17 item 10) --------------------------------------

NANOGPT_LOG = "nanogpt/wilcoooo-shakespeare-char-tiny-cuda.log"   # 201 lines, 151 iterations


@pytest.mark.parametrize("argv", [
    ["diagnose", "LOG", "--format", "llmc", "--fail-on", "warning"],
    ["diagnose", "LOG", "--format", "llmc", "--json"],
    ["summary", "LOG", "--format", "llmc"],
    ["golden", "LOG", "--format", "llmc", "-o", "OUT"],
])
def test_a_forced_format_that_reads_nothing_is_an_error(argv, realdata, tmp_path, capsys):
    argv = [str(realdata / NANOGPT_LOG) if a == "LOG" else str(tmp_path / "b.json")
            if a == "OUT" else a for a in argv]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and "No findings" not in out
    assert err.count("\n") == 1 and "wilcoooo-shakespeare-char-tiny-cuda.log: no training " \
        "iterations recognised (llmc: 193 of 201 lines skipped; --format llmc was given: " \
        "leave it out to detect the format)" in err
    assert not (tmp_path / "b.json").exists()


def test_parse_with_a_forced_format_that_reads_nothing_writes_nothing(realdata, tmp_path,
                                                                       capsys):
    out = tmp_path / "events.jsonl"
    assert main(["parse", str(realdata / NANOGPT_LOG), "--format", "llmc", "-o", str(out)]) == 2
    assert "no lines read as llmc (193 of 201 skipped)" in capsys.readouterr().err
    assert not out.exists()


def test_a_log_without_iterations_is_unusable_not_healthy(tmp_path, capsys):
    # a detected format (our events) with nothing in it but the run's start
    from tests.analyzer._cli_runs import start
    path = write(tmp_path / "started.jsonl", [start("s")])
    base = tmp_path / "b.json"
    assert main(["golden", str(write(tmp_path / "h.jsonl", healthy_events())), "-o",
                 str(base)]) == 0
    for argv in (["diagnose", str(path), "--fail-on", "info"],
                 ["check", str(path), "--baseline", str(base)]):
        assert main(argv) == 2
        out, err = capsys.readouterr()
        assert "No findings" not in out
        assert "started.jsonl: no training iterations recognised (gptscope: 0 of 1 lines " \
               "skipped)" in err


# -- one name per finding (issue #17 item 12) ------------------------------------------------

REAL_LOGS_WITH_FINDINGS = [
    "nanogpt/minlora-readme-fp32-loss-explosion.log", "nanogpt/chenzihua-termux-cpu-nan-at-425.log",
    "nanogpt/propathee-shakespeare-bpe-wandb-severe-overfit-excerpt.log",
    "llmc/hector-11673594-assert-abort.log", "modded-nanogpt/2024-10-09-soap-train_gpt2.log",
    "nanochat/pr657-chat_sft-gtx1660-ansi.log",
]


@pytest.mark.parametrize("name", REAL_LOGS_WITH_FINDINGS)
def test_only_takes_exactly_the_codes_diagnose_prints(name, realdata, capsys):
    from analyzer.diagnostics import FINDING_CODES
    log = str(realdata / name)
    main(["diagnose", log, "--json"])
    printed = [f["code"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert printed
    for code in set(printed):
        assert code in FINDING_CODES
        assert main(["diagnose", log, "--json", "--only", code]) == 0
        out, err = capsys.readouterr()
        assert err == ""
        assert [f["code"] for f in json.loads(out)["findings"]] == \
            [c for c in printed if c == code]


def test_an_old_only_name_still_works_with_a_note(realdata, capsys):
    log = str(realdata / "nanogpt/propathee-shakespeare-bpe-wandb-severe-overfit-excerpt.log")
    assert main(["diagnose", log, "--json", "--only", "implausible_mfu"]) == 0
    out, err = capsys.readouterr()
    assert {f["code"] for f in json.loads(out)["findings"]} == {"mfu_implausible"}
    assert err == "note: --only implausible_mfu is an old name; use --only mfu_implausible\n"


# -- names and units that read well (issue #17 item 14) --------------------------------------

def test_compare_heads_columns_with_short_run_names(tmp_path, capsys):
    deep = tmp_path / ("x" * 60) / "logs"     # whole paths made 190-character lines
    for rid in ("20261130-002316", "20261130-104512"):
        (deep / rid).mkdir(parents=True)
        write(deep / rid / "events.jsonl", overfit_events(run_id=rid))
    assert main(["compare", str(deep / "20261130-002316"), str(deep / "20261130-104512")]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert head.split() == ["A:", "20261130-002316", "B:", "20261130-104512"]
    assert max(map(len, out.splitlines())) <= 100


def test_compare_tells_two_runs_of_the_same_id_apart(tmp_path, capsys):
    for d in ("main", "branch"):
        (tmp_path / d).mkdir()
        write(tmp_path / d / "events.jsonl", overfit_events(run_id="golden"))
    assert main(["compare", str(tmp_path / "main"), str(tmp_path / "branch")]) == 0
    assert capsys.readouterr().out.splitlines()[0].split() == ["A:", "main/golden", "B:",
                                                               "branch/golden"]


@pytest.mark.parametrize("seconds, text", [
    (0.6, "0.6 s"), (42.4, "42 s"), (750, "12.5 min"), (82980, "23.1 h"),
    (3 * 86400 + 4 * 3600, "3.2 days"),
])
def test_durations_read_well(seconds, text):
    from analyzer.cli.summary import format_duration
    assert format_duration(seconds) == text


def test_summary_names_the_run_and_its_duration(tmp_path, capsys):
    d = tmp_path / "20261130-002316"
    d.mkdir()
    write(d / "events.jsonl", healthy_events(run_id="20261130-002316"))
    assert main(["summary", str(d)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run       20261130-002316: ")
    assert "time      ~6.0 s of training" in out and "min" not in out


def test_the_command_skips_teardown_but_keeps_its_output_and_status(overfit, tmp_path,
                                                                    repo_root):
    """`python -m analyzer` leaves through os._exit (no teardown of big tables): what it
    printed into a pipe still arrives whole, and its exit status is main()'s."""
    r = cli("parse", overfit, "-o", "-", cwd=repo_root)
    assert r.returncode == 0
    assert cli("parse", overfit, "-o", str(tmp_path / "out.jsonl"), cwd=repo_root).returncode == 0
    written = (tmp_path / "out.jsonl").read_text()
    assert r.stdout == written and len(written.splitlines()) > 20
    assert cli("diagnose", overfit, "--fail-on", "warning", cwd=repo_root).returncode == 1
    assert cli("summary", str(tmp_path / "absent.log"), cwd=repo_root).returncode == 2


def test_run_exits_without_teardown_only_when_alone(monkeypatch):
    import threading

    import analyzer.cli as cli_mod
    calls = []
    monkeypatch.setenv("GPTSCOPE_MALLOC", "0")  # leave this process's allocator alone
    monkeypatch.setenv("GPTSCOPE_GC", "on")  # and its garbage collector
    monkeypatch.setattr(cli_mod, "main", lambda: 1)
    monkeypatch.setattr(cli_mod.os, "_exit", lambda status: calls.append(("_exit", status)))
    monkeypatch.setattr(cli_mod.threading, "active_count", lambda: 1)
    with pytest.raises(SystemExit):  # the patched _exit returns; sys.exit follows it
        cli_mod.run()
    assert calls == [("_exit", 1)]
    calls.clear()
    monkeypatch.setattr(cli_mod.threading, "active_count", lambda: 2)  # a thread still works
    with pytest.raises(SystemExit) as e:
        cli_mod.run()
    assert calls == [] and e.value.code == 1
    assert threading.active_count() >= 1


def test_the_command_keeps_freed_memory_unless_told_not_to(monkeypatch):
    """run() raises glibc's trim and mmap thresholds for the command's process (a 1M-line
    summary faulted in fresh pages for every big array); GPTSCOPE_MALLOC=0 leaves them."""
    import analyzer.cli as cli_mod
    calls = []
    monkeypatch.setattr(cli_mod, "keep_freed_memory", lambda: calls.append("kept"))
    monkeypatch.setattr(cli_mod, "skip_cyclic_gc", lambda argv: None)  # (pytest's own gc)
    monkeypatch.setattr(cli_mod, "main", lambda: 0)
    monkeypatch.setattr(cli_mod.threading, "active_count", lambda: 2)  # no os._exit here
    for env, expected in (("1", ["kept"]), ("0", [])):
        monkeypatch.setenv("GPTSCOPE_MALLOC", env)
        calls.clear()
        with pytest.raises(SystemExit):
            cli_mod.run()
        assert calls == expected


def test_run_skips_the_cyclic_gc_unless_told(monkeypatch):
    """A one-shot command runs without the cyclic collector (it walked pandas' objects ~170
    times while they imported, to free nothing); GPTSCOPE_GC=on keeps it."""
    import analyzer.cli as cli_mod
    calls = []
    monkeypatch.setattr(cli_mod, "keep_freed_memory", lambda: None)
    monkeypatch.setattr(cli_mod, "skip_cyclic_gc", calls.append)
    monkeypatch.setattr(cli_mod, "main", lambda: 0)
    monkeypatch.setattr(cli_mod.threading, "active_count", lambda: 2)  # no os._exit here
    monkeypatch.setattr(cli_mod.sys, "argv", ["analyzer", "summary", "train.log"])
    for env, expected in (("auto", [["summary", "train.log"]]), ("on", [])):
        monkeypatch.setenv("GPTSCOPE_GC", env)
        calls.clear()
        with pytest.raises(SystemExit):
            cli_mod.run()
        assert calls == expected


@pytest.mark.parametrize("argv, off", [(["summary", "train.log"], True),
                                       (["diagnose", "--json", "x.log"], True),
                                       (["watch", "train.log"], False), (["--help"], False),
                                       ([], False)])
def test_skip_cyclic_gc_spares_watch(argv, off, repo_root):
    """`watch` runs until stopped: it keeps the collector; so does a bare --help."""
    code = ("import gc, sys; from analyzer.cli.memory import skip_cyclic_gc; "
            "print(skip_cyclic_gc(sys.argv[1:]), gc.isenabled())")
    r = subprocess.run([sys.executable, "-c", code, *argv], cwd=repo_root,
                       capture_output=True, text=True, check=True)
    assert r.stdout.split() == [str(off), str(not off)]


def test_keep_freed_memory_takes_on_glibc(repo_root):
    import platform
    code = "from analyzer.cli.memory import keep_freed_memory; print(keep_freed_memory())"
    r = subprocess.run([sys.executable, "-c", code], cwd=repo_root, capture_output=True,
                       text=True, check=True)
    assert r.stdout.strip() == str(platform.libc_ver()[0] == "glibc")
