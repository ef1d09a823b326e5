"""Python 3.10 is supported (pyproject: requires-python >= 3.10): no 3.11-only syntax in the
project, no 3.11-only standard-library name outside a version guard, and the one 3.11-only
module used (tomllib) falls back to the tomli package, which pyproject requires on 3.10."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from trainer.config import tomllib  # tomllib, or tomli on 3.10

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gptscope", "trainer", "analyzer", "app")
# 3.11-only standard-library names (What's New in Python 3.11)
NEW_IN_311 = re.compile(r"^\s*(import tomllib|from tomllib|from typing import .*\b(Self|"
                        r"LiteralString|Never|assert_never|reveal_type)\b|from enum import .*"
                        r"\bStrEnum\b|from datetime import .*\bUTC\b)|\bdatetime\.UTC\b|"
                        r"\bExceptionGroup\b|\basyncio\.TaskGroup\b|\.add_note\(", re.M)


def _sources() -> list[Path]:
    return [p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))]


def test_every_module_parses_as_python_310():
    for path in _sources():
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 10))


def test_no_311_only_stdlib_name_outside_a_version_guard():
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for m in NEW_IN_311.finditer(text):
            before = text[:m.start()].splitlines()[-2:]  # the guard sits just above
            assert any("sys.version_info >= (3, 11)" in line for line in before), \
                f"{path.relative_to(ROOT)}: {m.group(0).strip()!r} needs Python 3.11"


def test_toml_config_reads_through_tomli_on_310(tmp_path):
    # A 3.10 interpreter, as trainer.config sees it: no tomllib, version 3.10, and the tomli
    # package (the same parser; played here by the 3.11 module under its PyPI name).
    (tmp_path / "c.toml").write_text("max_iters = 7\n[model]\nn_layer = 3\n")
    code = ("import sys, tomllib\n"
            "sys.modules['tomli'] = tomllib\n"
            "sys.modules['tomllib'] = None\n"
            "sys.version_info = (3, 10, 13, 'final', 0)\n"
            "from trainer import config\n"
            f"print(config.load_toml({str(tmp_path / 'c.toml')!r}))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "{'max_iters': 7, 'n_layer': 3}"


def test_pyproject_promises_what_the_code_needs():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    assert "tomli>=2; python_version<'3.11'" in project["dependencies"]
    # torch.amp.GradScaler("cuda") (trainer/loop.py) exists from torch 2.3
    assert "torch>=2.3" in project["optional-dependencies"]["train"]
