"""A checkpoint from an unknown source cannot run code: checkpoints load with
``torch.load(weights_only=True)``. The crafted files below run a command when unpickled
the unsafe way (the first test proves it), and every way gptscope opens a checkpoint
refuses them with a one-line error, without running it."""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import pytest
import torch

from tests.conftest import tiny_config
from trainer import checkpoint as ckpt_io
from trainer import cli
from trainer.train import train

ROOT = Path(__file__).resolve().parents[2]


class _Evil:
    """Unpickling this calls os.system(command): what a malicious checkpoint carries."""

    def __init__(self, command: str):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def _evil_files(folder: Path, marker: Path) -> dict[str, Path]:
    payload = {"model": _Evil(f"touch {marker}"), "iter_num": 1}
    files = {}
    files["zip"] = folder / "zip.pt"
    torch.save(payload, files["zip"])                      # today's torch format
    files["legacy"] = folder / "legacy.pt"
    torch.save(payload, files["legacy"], _use_new_zipfile_serialization=False)
    files["pickle"] = folder / "plain.pkl"
    files["pickle"].write_bytes(pickle.dumps(payload))     # a bare pickle named ckpt.pt
    return files


def test_the_crafted_checkpoints_really_are_malicious(tmp_path):
    """Guard for the tests below: loaded without weights_only, the files do run code."""
    for kind, path in _evil_files(tmp_path, tmp_path / "ran").items():
        (tmp_path / "ran").unlink(missing_ok=True)
        if kind == "pickle":
            pickle.loads(path.read_bytes())
        else:
            torch.load(path, weights_only=False)
        assert (tmp_path / "ran").exists(), kind


@pytest.mark.parametrize("kind", ["zip", "legacy", "pickle"])
def test_loading_a_crafted_checkpoint_fails_safely(tmp_path, kind):
    marker = tmp_path / "pwned"
    path = _evil_files(tmp_path, marker)[kind]
    with pytest.raises(ckpt_io.CheckpointError) as e:
        ckpt_io.load(path)
    assert not marker.exists()
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg and "not a loadable checkpoint" in msg
    # the reason is given; torch's advice to retry with weights_only=False (which would run
    # the payload) is never passed on
    assert "can run code" in msg and "weights_only" not in msg and "trust" not in msg


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    cfg = tiny_config(tmp_path_factory.mktemp("logs"), max_iters=4, eval_interval=2,
                      eval_iters=1, always_save_checkpoint=True, run_id="r")
    return train(cfg, stdout=None).run_dir


@pytest.mark.parametrize("kind", ["zip", "legacy", "pickle"])
@pytest.mark.parametrize("command", ["resume", "sample"])
def test_resume_and_sample_refuse_a_crafted_checkpoint(tmp_path, capsys, run_dir, kind,
                                                       command):
    marker = tmp_path / "pwned"
    good = (run_dir / "ckpt.pt").read_bytes()
    (run_dir / "ckpt.pt").write_bytes(_evil_files(tmp_path, marker)[kind].read_bytes())
    try:
        argv = (["run", f"--resume={run_dir}", "--max_iters=6"] if command == "resume"
                else ["sample", "--run", str(run_dir), "--device", "cpu",
                      "--max_new_tokens", "5"])
        code = cli.main(argv)
        err = capsys.readouterr().err
    finally:
        (run_dir / "ckpt.pt").write_bytes(good)
    assert code == 1 and err.count("\n") == 1 and "not a loadable checkpoint" in err, err
    assert "weights_only" not in err
    assert not marker.exists()


def test_every_torch_load_in_the_code_is_weights_only():
    """No code path loads a pickle any other way (a new torch.load must say weights_only)."""
    calls = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT).parts
        if rel[0] not in ("gptscope", "trainer", "analyzer", "app", "benchmarks"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bpickle\.loads?\(|\bdill\b|\bjoblib\.load\(|"
                             r"\bnp\.load\([^)]*allow_pickle=True", text), path
        calls += [(path, m) for m in re.findall(r"torch\.load\([^)]*\)", text)]
    assert calls  # the checkpoint loader is found, so the scan is looking at the code
    for path, call in calls:
        assert "weights_only=True" in call, (path, call)
