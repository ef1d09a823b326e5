"""The command line: --help, overrides in both spellings, TOML, one-line errors, prepare,
sample, and signals (SIGTERM/SIGINT: checkpoint, run_end 'interrupted', clean exit)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainer import cli
from trainer import config as C

from .conftest import read_events

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_field_with_default_and_meaning(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["run", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    flat = "".join(out.split())  # argparse re-wraps the text (also after hyphens)
    docs, defaults = C.field_docs(), C.Config().flat()
    for name in C.FIELD_TYPES:
        assert f"--{name} " in out
        assert "".join(f"{docs[name]} (default: {defaults[name]!r})".split()) in flat
    for preset in C.PRESETS:
        assert preset in out


def test_top_level_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert all(cmd in out for cmd in ("run", "prepare", "sample"))


@pytest.mark.parametrize("argv", [
    ["--max_iters=7", "--n_layer", "3", "--compile=false", "--bias"],
    ["--max-iters", "7", "--n-layer=3", "--compile", "false", "--bias", "true"],
])
def test_overrides_in_both_spellings(argv):
    ns, extra = cli.build_parser().parse_known_args(["run", *argv])
    assert extra == []
    cfg, resume = cli.resolve_config(ns, cuda_available=False)
    assert (cfg.train.max_iters, cfg.model.n_layer, cfg.system.compile, cfg.model.bias) \
        == (7, 3, False, True)
    assert resume is None and cfg.model.n_embd == 128  # the cpu preset underneath


def test_default_preset_follows_the_device():
    ns, _ = cli.build_parser().parse_known_args(["run"])
    assert cli.resolve_config(ns, cuda_available=True)[0] == C.preset("shakespeare-char")
    assert cli.resolve_config(ns, cuda_available=False)[0] == C.Config()


def test_precedence_preset_then_toml_then_command_line(tmp_path):
    toml = tmp_path / "c.toml"
    toml.write_text('preset = "tiny"\nmax_iters = 11\n[optim]\nlearning_rate = 0.02\n')
    ns, _ = cli.build_parser().parse_known_args(["run", "--config", str(toml),
                                                 "--max_iters=12"])
    cfg, _ = cli.resolve_config(ns, cuda_available=False)
    assert (cfg.model.n_embd, cfg.optim.learning_rate, cfg.train.max_iters) == (16, 0.02, 12)


@pytest.mark.parametrize("argv,words", [
    (["run", "--learning_rate=-0.1"], "error: learning_rate: must be > 0, got -0.1"),
    (["run", "--max_itres=5"], "error: max_itres: unknown config key (did you mean 'max_iters'?)"),
    (["run", "--n_layer", "two"], "error: n_layer: expected an integer, got 'two'"),
    (["run", "--n_head=3"], "error: n_head: must divide n_embd=128, got 3"),
    (["run", "--preset", "huge"], "error: preset: unknown preset 'huge'"),
    (["run", "config/train_shakespeare_char.py"], "Python config files are not executed"),
    (["run", "--block_size=2000000", "--device=cpu"],
     "error: block_size: 2000000 is not smaller than the train split of shakespeare_char "
     "(1003854 tokens)"),
    (["run", "--config", "/nonexistent.toml"], "error: /nonexistent.toml: cannot read"),
    (["prepare", "--input", "x.txt"], "error: the following arguments are required"),
])
def test_bad_values_exit_nonzero_with_one_line(capsys, tmp_path, argv, words):
    code, out, err = run_cli(capsys, *argv, *(["--out_dir", str(tmp_path)]
                                              if argv[0] == "run" else []))
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err, err
    assert not list(tmp_path.iterdir())  # nothing was created


def test_unwritable_out_dir_is_one_line(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code, _, err = run_cli(capsys, "run", "--preset=tiny", f"--out_dir={blocker}/logs")
    assert code == 1 and err.count("\n") == 1
    assert err.startswith(f"error: cannot create a run directory in {blocker}/logs")


def test_prepare_then_run_on_it_then_sample(capsys, tmp_path):
    text = tmp_path / "t.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 200)
    code, out, _ = run_cli(capsys, "prepare", "--input", str(text), "--tokenizer", "char",
                           "--out", str(tmp_path / "ds"))
    assert code == 0 and "7,740 train and 860 val tokens, vocab_size 17 (char)" in out
    code, out, err = run_cli(capsys, "run", "--preset=tiny", f"--data={tmp_path / 'ds'}",
                             f"--out_dir={tmp_path / 'logs'}", "--run_id=r", "--max_iters=20",
                             "--eval_interval=10")
    assert code == 0, err
    assert "found vocab_size = 17" in out and "step 20: train loss" in out
    code, out, _ = run_cli(capsys, "sample", "--run", str(tmp_path / "logs" / "r"),
                           "--start", "To be", "--max_new_tokens", "30", "--device", "cpu")
    assert code == 0 and out.startswith("To be") and set(out) <= set(text.read_text() + "-")


def test_resume_latest_with_more_iterations(capsys, tmp_path):
    logs = tmp_path / "logs"
    assert run_cli(capsys, "run", "--preset=tiny", f"--out_dir={logs}", "--max_iters=10",
                   "--always_save_checkpoint")[0] == 0
    code, out, err = run_cli(capsys, "run", "--resume=latest", f"--out_dir={logs}",
                             "--max_iters=20")
    assert code == 0, err
    (run_dir,) = logs.iterdir()
    assert f"Resuming training from {run_dir} at iter 10" in out
    assert json.loads((run_dir / "config.json").read_text())["max_iters"] == 20
    code, _, err = run_cli(capsys, "run", "--resume=latest", "--preset=tiny",
                           f"--out_dir={logs}")
    assert code == 2 and "preset: cannot be combined with --resume" in err


def _start(tmp_path, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "trainer", "run", "--preset=tiny",
                             f"--out_dir={tmp_path}", "--run_id=r", "--device=cpu", *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_iters(path: Path, n: int, proc, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if path.exists() and path.read_text().count('"type":"iter"') >= n:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {n} iterations within {timeout}s: {proc.poll()}")


@pytest.mark.slow  # a real process: ~5 s on an idle 2-core machine, more under load
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_checkpoints_and_ends_cleanly(tmp_path, sig):
    proc = _start(tmp_path, "--max_iters=100000", "--lr_decay_iters=100000",
                  "--eval_interval=1000")
    try:
        _wait_for_iters(tmp_path / "r" / "events.jsonl", 15, proc)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    events = read_events(tmp_path / "r")
    end, ckpt = events[-1], events[-2]
    assert end["type"] == "run_end" and end["status"] == "interrupted" and end["steps"] >= 15
    assert ckpt["type"] == "checkpoint" and ckpt["step"] == end["steps"]
    assert f"saving checkpoint to {tmp_path / 'r'}" in out

    from trainer import checkpoint as ckpt_io
    assert ckpt_io.load(tmp_path / "r" / "ckpt.pt")["iter_num"] == end["steps"]
