"""No secrets and no absolute home paths are written into a run's files by default.

The run below starts in a project under a home directory, with tokens in the environment
(the usual HF/W&B/OpenAI/AWS/GitHub variables) -- what a real machine has. Nothing of them
may appear in events.jsonl (which people share and upload), config.json or the checkpoint.
"""
from __future__ import annotations

import getpass
import json

from trainer import cli

SECRETS = {"HF_TOKEN": "hf_SeCrEt1", "WANDB_API_KEY": "wandbSeCrEt2",
           "OPENAI_API_KEY": "sk-SeCrEt3", "AWS_SECRET_ACCESS_KEY": "awsSeCrEt4",
           "GITHUB_TOKEN": "ghp_SeCrEt5", "GPTSCOPE_SECRET": "gsSeCrEt6"}


def test_default_run_writes_no_secrets_or_home_paths(tmp_path, monkeypatch, capsys):
    home = tmp_path / "home" / "alice-7q2"
    project = home / "projects" / "gpt"
    project.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USER", "alice-7q2")
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(project)
    code = cli.main(["run", "--preset=tiny", "--device=cpu", "--max_iters=4",
                     "--eval_interval=2", "--always_save_checkpoint=true"])
    assert code == 0, capsys.readouterr().err
    (run_dir,) = (project / "logs").iterdir()
    files = {name: (run_dir / name).read_bytes()
             for name in ("events.jsonl", "config.json", "ckpt.pt")}
    forbidden = [*SECRETS.values(), str(home), "alice-7q2", str(tmp_path)]
    if getpass.getuser() not in ("root", "runner", ""):
        forbidden.append(f"/{getpass.getuser()}/")  # the real user's home, if any
    for name, data in files.items():
        for needle in forbidden:
            assert needle.encode() not in data, (name, needle)
    start = json.loads(files["events.jsonl"].splitlines()[0])
    assert start["type"] == "run_start" and start["config"]["out_dir"] == "logs"
    assert not any(str(v).startswith("/") for v in start["config"].values())
