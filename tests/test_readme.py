"""The README's promises: its two set-up commands, that CI runs the test command, and that
every `python -m analyzer|trainer VERB` it shows is a real verb."""
from __future__ import annotations

import re

from analyzer import cli as analyzer_cli
from trainer import cli as trainer_cli


def _verbs(parser) -> set[str]:
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return set(action.choices)


def test_two_commands_set_up_and_ci_calls_the_test_command(repo_root):
    readme = (repo_root / "README.md").read_text()
    block = readme.split("## Two commands", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["bash scripts/run.sh", "bash scripts/test.sh"]
    ci = (repo_root / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci
    # both share their set-up (scripts/_env.sh; its paths are tested in test_setup_env.py)
    env_sh = (repo_root / "scripts" / "_env.sh").read_text()
    assert 'GPTSCOPE_TORCH="2.13.0"' in env_sh and '"torch==$GPTSCOPE_TORCH"' in env_sh
    test_sh = (repo_root / "scripts" / "test.sh").read_text()
    assert "pytest" in test_sh and "chromium" in test_sh
    assert "source scripts/_env.sh" in test_sh and "gptscope_setup train,dev" in test_sh
    run_sh = (repo_root / "scripts" / "run.sh").read_text()
    assert "app.launch" in run_sh
    assert "source scripts/_env.sh" in run_sh and "gptscope_setup train" in run_sh
    # set-up must never pull an unpinned (CUDA, multi-GB) torch on a CPU machine
    for script in (test_sh, run_sh, env_sh):
        assert not re.search(r"pip install[^\n]*\btorch\b(?!==)", script)


def test_every_cli_verb_in_the_docs_exists(repo_root):
    text = "\n".join(p.read_text() for p in [repo_root / "README.md",
                                             *sorted((repo_root / "docs").glob("*.md"))])
    analyzer_verbs = _verbs(analyzer_cli.build_parser(["golden"]))
    trainer_verbs = _verbs(trainer_cli.build_parser())
    used_a = set(re.findall(r"python -m analyzer (\w+)", text))
    used_t = set(re.findall(r"python -m trainer (\w+)", text))
    assert used_a and used_t
    assert used_a <= analyzer_verbs, used_a - analyzer_verbs
    assert used_t <= trainer_verbs, used_t - trainer_verbs
