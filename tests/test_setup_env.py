"""The set-up of scripts/run.sh and scripts/test.sh (scripts/_env.sh), in its dry-run mode
(GPTSCOPE_SETUP_DRY_RUN=1: the plan, one line per step, nothing changed), on a copy of the
scripts with a PATH made for each case: an active virtual environment; none active with only
a system python3 on PATH (with or without a CUDA torch); an old python3; no python3 at all.
CI itself runs the real no-venv path (.ci/run: no environment active there)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# what the scripts need besides python3, so that PATH can hold nothing else
TOOLS = ("bash", "dirname", "cksum", "grep", "rm", "mv", "uname", "id", "cat", "env")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder with the set-up scripts and pyproject.toml, and no .venv."""
    proj = tmp_path / "proj"
    (proj / "scripts").mkdir(parents=True)
    for name in ("_env.sh", "run.sh", "test.sh"):
        shutil.copy(ROOT / "scripts" / name, proj / "scripts" / name)
    shutil.copy(ROOT / "pyproject.toml", proj / "pyproject.toml")
    return proj


def bin_dir(tmp_path: Path, python3: str | None) -> Path:
    """A folder for PATH: the tools, and python3 (a link to it, or a script) unless None."""
    path = tmp_path / "bin"
    path.mkdir(exist_ok=True)
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (path / tool).symlink_to(found)
    if python3 is not None and python3.startswith("#!"):
        (path / "python3").write_text(python3)
        (path / "python3").chmod(0o755)
    elif python3 is not None:
        (path / "python3").symlink_to(python3)
    return path


def setup(project: Path, path: Path, script: str = "test.sh", args: tuple[str, ...] = (),
          **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PYTHONPATH")}
    bash = shutil.which("bash")
    return subprocess.run([bash, str(project / "scripts" / script), *args], capture_output=True,
                          text=True, timeout=120,
                          env={**base, "PATH": str(path), "GPTSCOPE_SETUP_DRY_RUN": "1",
                               "GPTSCOPE_TORCH_INDEX": "none", **env})


def fake_python(version: str, torch: str, kind: str = "cpu",
                prefix: str = "/fake/prefix") -> str:
    """A python3 that answers the set-up's probes as a given interpreter would (every
    dependency importable)."""
    return ("#!/bin/sh\n"
            'case "$*" in\n'
            f'  *gptscope-probe*) echo "{version} {prefix} {torch}" ;;\n'
            f'  *gptscope-torch-kind*) echo "{kind}" ;;\n'
            "  *gptscope-deps*) exit 0 ;;\n"
            '  "-m pytest"*) echo "pytest $*"; exit ${FAKE_PYTEST_STATUS:-0} ;;\n'
            "  *) exit 3 ;;\n"
            "esac\n")


def test_an_active_virtual_environment_is_used_as_it_is(project, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    # a python with torch installed: a script that runs this interpreter (a symlink would
    # lose its virtual environment, found from pyvenv.cfg beside the path it was run by)
    (venv / "bin" / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (venv / "bin" / "python3").chmod(0o755)
    path = bin_dir(tmp_path, None)  # no python3 on PATH at all: the venv's is used
    proc = setup(project, path, VIRTUAL_ENV=str(venv))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"setup: using the active virtual environment {venv}"
    assert lines[1].startswith("setup: torch ") and lines[1].endswith(" already installed: kept")
    assert lines[-1] == "setup: dry run: nothing was changed"
    assert not (project / ".venv").exists()


def test_an_active_conda_environment_is_used_as_it_is(project, tmp_path):
    conda = tmp_path / "conda"
    (conda / "bin").mkdir(parents=True)
    (conda / "bin" / "python3").write_text(fake_python("3.12", "2.5.1+cu121", "cuda"))
    (conda / "bin" / "python3").chmod(0o755)
    proc = setup(project, bin_dir(tmp_path, None), CONDA_PREFIX=str(conda))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[:2] == [
        f"setup: using the active conda environment {conda}",
        "setup: torch 2.5.1+cu121 already installed: kept"]  # a CUDA torch is never replaced


def test_none_active_creates_the_project_venv_with_the_system_python3(project, tmp_path):
    path = bin_dir(tmp_path, sys.executable)  # python3 only, as on a fresh Debian/Ubuntu
    proc = setup(project, path)
    assert proc.returncode == 0, proc.stderr
    ver = "%d.%d" % sys.version_info[:2]
    assert proc.stdout.splitlines() == [
        f"setup: no virtual environment active: creating .venv with {path / 'python3'} "
        f"(Python {ver}); later: source .venv/bin/activate",
        "setup: installing torch 2.13.0 (CPU build, a few hundred MB)...",
        "setup: installing gptscope[train,dev] and its dependencies (pandas, pyarrow, "
        "streamlit...)...",
        "setup: dry run: nothing was changed"]
    assert not (project / ".venv").exists()
    run = setup(project, path, script="run.sh")  # run.sh: the same, without the dev extra
    assert run.returncode == 0, run.stderr
    assert "setup: installing gptscope[train] and its dependencies" in run.stdout


def test_an_unchanged_install_is_not_repeated(project, tmp_path):
    """The environment remembers what set-up installed (extras, pyproject.toml's checksum)."""
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    (env_dir / "bin" / "python3").write_text(fake_python("3.11", "2.13.0+cpu",
                                                         prefix=str(env_dir)))
    (env_dir / "bin" / "python3").chmod(0o755)
    path = bin_dir(tmp_path, None)
    cksum = subprocess.run(["cksum"], stdin=open(project / "pyproject.toml", "rb"),
                           capture_output=True, text=True).stdout.strip()
    stamp = env_dir / ".gptscope-setup"
    stamp.write_text(f"{cksum} [train,dev] {project}\n")
    for script, extras in (("test.sh", "train,dev"), ("run.sh", "train")):  # dev covers train
        out = setup(project, path, script, VIRTUAL_ENV=str(env_dir)).stdout
        assert f"setup: gptscope[{extras}] already installed (pyproject.toml unchanged)" in out
    stamp.write_text(f"{cksum} [train] {project}\n")  # not the dev extra
    out = setup(project, path, VIRTUAL_ENV=str(env_dir)).stdout
    assert "setup: installing gptscope[train,dev] and its dependencies" in out
    stamp.write_text(f"1 2 [train,dev] {project}\n")  # pyproject.toml changed since
    out = setup(project, path, VIRTUAL_ENV=str(env_dir)).stdout
    assert "setup: installing gptscope[train,dev] and its dependencies" in out
    stamp.write_text(f"{cksum} [train,dev] {tmp_path / 'another-clone'}\n")
    out = setup(project, path, VIRTUAL_ENV=str(env_dir)).stdout
    assert "setup: installing gptscope[train,dev] and its dependencies" in out


@pytest.mark.parametrize("status", [0, 1, 5])
def test_test_sh_passes_pytest_status_on_and_never_turns_no_tests_into_success(
        project, tmp_path, status):
    env_dir = tmp_path / "env"
    (env_dir / "bin").mkdir(parents=True)
    (env_dir / "bin" / "python3").write_text(fake_python("3.11", "2.13.0+cpu",
                                                         prefix=str(env_dir)))
    (env_dir / "bin" / "python3").chmod(0o755)
    cksum = subprocess.run(["cksum"], stdin=open(project / "pyproject.toml", "rb"),
                           capture_output=True, text=True).stdout.strip()
    (env_dir / ".gptscope-setup").write_text(f"{cksum} [train,dev] {project}\n")
    proc = setup(project, bin_dir(tmp_path, None), args=("-x",), VIRTUAL_ENV=str(env_dir),
                 GPTSCOPE_SETUP_DRY_RUN="0", FAKE_PYTEST_STATUS=str(status))
    assert proc.returncode == status, proc.stdout + proc.stderr
    assert "pytest -m pytest -x" in proc.stdout  # test.sh's arguments reach pytest
    assert ("error: pytest collected no tests (exit status 5)" in proc.stderr) == (status == 5)


def test_a_system_cuda_torch_is_kept(project, tmp_path):
    path = bin_dir(tmp_path, fake_python("3.10", "2.6.0", "cuda"))
    proc = setup(project, path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == (f"setup: no virtual environment active: creating .venv with "
                        f"{path / 'python3'} (Python 3.10), which sees its CUDA torch 2.6.0")
    assert lines[1] == "setup: torch 2.6.0 already installed: kept"


@pytest.mark.parametrize("python3,message", [
    (fake_python("3.8", "-"), "is Python 3.8; gptscope needs 3.10 or newer"),
    (None, "python3 not found: install Python 3.10 or newer"),
], ids=["old", "missing"])
def test_no_usable_python3_is_one_clear_line(project, tmp_path, python3, message):
    proc = setup(project, bin_dir(tmp_path, python3))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("setup: error: ")
    assert message in proc.stderr


def test_scripts_use_python3_and_a_pinned_torch():
    for name in ("_env.sh", "run.sh", "test.sh"):
        text = (ROOT / "scripts" / name).read_text()
        code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
        # never a bare `python` command (a fresh Debian/Ubuntu has none)
        assert not re.search(r"(^|[;&|(]|\$\()\s*python\s", code, re.M), name
    env_sh = (ROOT / "scripts" / "_env.sh").read_text()
    assert 'GPTSCOPE_TORCH="2.13.0"' in env_sh and '"torch==$GPTSCOPE_TORCH"' in env_sh
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci and "unset GPTSCOPE_ALLOW_SKIPS" in ci
