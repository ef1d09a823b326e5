"""scripts/gpu_check.sh in --dry-run mode: the GPU check's steps (bench JSON, its summary,
a short real run, its resume, their summaries) run end to end on CPU with a tiny model."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # 2 x 3 Python processes that import torch: ~1 min on 2 cores


def _dry_run(folder: Path, cwd: Path) -> str:
    # PYTHON: this interpreter (scripts/test.sh runs the venv's python without activating
    # the venv, so a bare `python` on PATH may be one without torch)
    env = {**os.environ, "GPU_CHECK_DIR": str(folder), "OMP_NUM_THREADS": "1",
           "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dry-run"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr[-2000:]
    return proc.stdout


def test_gpu_check_dry_run_twice_in_a_new_folder(tmp_path):
    folder = tmp_path / "not" / "yet"  # created by the script
    out = _dry_run(folder, tmp_path)
    ms = float(re.search(r"^ms/iter: median ([\d.]+), p90 ([\d.]+)", out, re.M).group(1))
    tps = float(re.search(r"^tokens/s: ([\d,]+)", out, re.M).group(1).replace(",", ""))
    assert ms > 0 and tps > 0
    # a CPU's measured peak is GFLOP/s: printed as such, never "0 TFLOP/s"
    peak = re.search(r"^MFU: [\d.]+% of ([\d.]+) (GFLOP/s|TFLOP/s) .*(meets|BELOW) the 45% "
                     r"goal$", out, re.M)
    assert peak and float(peak.group(1)) > 0 and "0 TFLOP/s" not in out
    assert re.search(r"^run: completed after 10 steps", out, re.M)
    assert re.search(r"^resumed at step (5|10): completed after 14 steps", out, re.M)
    assert "step 10: train loss" in out and "step 14: train loss" in out
    assert out.rstrip().splitlines()[-1].startswith("== gpu_check: done")
    (run,) = [p for p in folder.iterdir() if p.is_dir()]
    assert (run / "ckpt.pt").is_file()  # the run wrote where it was told
    # the same folder again: a new run directory, not "run_id already exists"
    _dry_run(folder, tmp_path)
    assert len([p for p in folder.iterdir() if p.is_dir()]) == 2


def test_gpu_check_refuses_unknown_arguments(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--fast"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "usage:" in proc.stderr
