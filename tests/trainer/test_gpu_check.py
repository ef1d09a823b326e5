"""scripts/gpu_check.sh in --dry-run mode: the GPU check's steps (bench JSON, its summary,
a short real run and its summary) run end to end on CPU with a tiny model."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # two Python processes that import torch: ~10-20 s on 2 cores


def test_gpu_check_dry_run(tmp_path):
    env = {**os.environ, "GPU_CHECK_DIR": str(tmp_path), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--dry-run"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    ms = float(re.search(r"^ms/iter: median ([\d.]+), p90 ([\d.]+)", out, re.M).group(1))
    tps = float(re.search(r"^tokens/s: ([\d,]+)", out, re.M).group(1).replace(",", ""))
    assert ms > 0 and tps > 0
    assert re.search(r"^MFU: [\d.]+% of .*(meets|BELOW) the 45% goal$", out, re.M)
    assert re.search(r"^run: completed after 10 steps", out, re.M)
    assert "step 10: train loss" in out and out.rstrip().endswith("== gpu_check: done")
    assert (tmp_path / "gpu_check" / "ckpt.pt").is_file()  # the run wrote where it was told


def test_gpu_check_refuses_unknown_arguments(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_check.sh"), "--fast"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2 and "usage:" in proc.stderr
