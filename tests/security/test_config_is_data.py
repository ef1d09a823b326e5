"""Configuration is data: a TOML, JSON or command-line value that looks like code is never
executed. Every attempt below would create a marker file if it ran; none may, and each one
ends in a one-line error (or, for the analyzer, in the text kept as a string)."""
from __future__ import annotations

import json

import pytest

from analyzer.parsers import nanogpt
from trainer import cli


def _payload(marker) -> str:
    return f"__import__('os').system('touch {marker}')"


def _run_cli(capsys, *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    _, err = capsys.readouterr()
    return code, err


@pytest.mark.parametrize("key", ["learning_rate", "n_layer", "compile", "data", "device",
                                 "dtype", "run_id", "nan_policy", "out_dir"])
def test_command_line_values_are_never_executed(capsys, tmp_path, monkeypatch, key):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    args = ["run", "--preset=tiny", f"--{key}={_payload(marker)}", "--max_iters=0",
            "--eval_only=true"]
    if key != "out_dir":
        args.append(f"--out_dir={tmp_path / 'logs'}")
    code, err = _run_cli(capsys, *args)
    assert not marker.exists()
    if key == "out_dir":  # any text is a directory name: the run happens there, as data
        assert code == 0, err
        assert (tmp_path / _payload(marker)).is_dir()
    else:
        assert code in (1, 2) and err.count("\n") == 1 and err.startswith("error: "), err


@pytest.mark.parametrize("toml", [
    'learning_rate = "{p}"',
    '[model]\nn_layer = "{p}"',
    'data = "{p}"',
    'preset = "{p}"',
    '"{p}" = 1',
    'grad_clip = inf',          # TOML has inf and nan; a config holds finite numbers
    'weight_decay = nan',
    'learning_rate = 1' + '0' * 400,
])
def test_toml_values_are_never_executed(capsys, tmp_path, monkeypatch, toml):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.toml"
    path.write_text(toml.format(p=_payload(marker).replace("'", "\\'")) + "\n")
    code, err = _run_cli(capsys, "run", "--preset=tiny", f"--config={path}",
                         f"--out_dir={tmp_path / 'logs'}", "--max_iters=2")
    assert not marker.exists()
    assert code in (1, 2) and err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err


def test_python_config_files_are_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    evil = tmp_path / "train_evil.py"
    evil.write_text(f"{_payload(marker)}\nlearning_rate = 1e-3\n")
    for argv in (["run", str(evil)], ["run", f"--config={evil}"], [str(evil)]):
        code, err = _run_cli(capsys, *argv, f"--out_dir={tmp_path / 'logs'}")
        assert code == 2 and err.count("\n") == 1, err
    assert not marker.exists()


def test_a_resumed_runs_config_json_is_data(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    run = tmp_path / "logs" / "r"
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"learning_rate": _payload(marker)}))
    code, err = _run_cli(capsys, "run", f"--resume={run}")
    assert code == 2 and "config.json" in err and err.count("\n") == 1, err
    assert not marker.exists()


def test_a_logged_config_with_code_stays_text(tmp_path, monkeypatch):
    """nanoGPT echoes its Python config file; the analyzer reads literals, never code."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    lines = ["Overriding config with config/evil.py:", f"init_from = {_payload(marker)}",
             "batch_size = 12", f"x = eval(\"{_payload(marker)}\")",
             "iter 0: loss 4.2649, time 3514.20ms, mfu -100.00%"]
    parser = nanogpt.Parser()
    events = parser.feed(lines, 1) + parser.finish()
    config = events[0]["config"]
    assert config["batch_size"] == 12 and config["init_from"] == _payload(marker)
    assert not marker.exists()
