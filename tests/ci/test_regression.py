"""The project's own CI regression check: the real trainer, a seeded tiny model on CPU, the
committed golden curve (tests/ci/baseline.json), and proof that the check can fail.

Five runs of the CI model train at once in child processes (one thread each, ~6 CPU-seconds
each): the golden run, an unchanged rerun, the learning rate x100, the model with its causal
mask removed (tests/ci/train.py --bug no_causal_mask), and a tenth of the learning rate (against
the seed band of tests/ci/baseline_seeds.json).
"""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from analyzer.cli import build_parser
from analyzer.cli import main as analyzer_main
from tests.ci import train
from tests.ci.make_baseline import BASELINE, SEED_BASELINE

LR = float(next(a for a in train.CI_CONFIG if a.startswith("--learning_rate=")).split("=")[1])
VARIANTS: dict[str, dict] = {
    "golden": {},
    "rerun": {},
    "lr_x100": {"args": [f"--learning_rate={LR * 100:g}"]},
    "no_causal_mask": {"bug": "no_causal_mask"},
    "lr_div10": {"args": [f"--learning_rate={LR / 10:g}"]},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("ci_runs")
    procs = {name: train.start(out, name, *v.get("args", []), bug=v.get("bug"))
             for name, v in VARIANTS.items()}
    try:
        for name, proc in procs.items():     # keep the nanoGPT-format stdout as a log too
            (out / f"{name}.stdout.log").write_text(train.finish(proc), encoding="utf-8")
    finally:
        for proc in procs.values():      # never leave a trainer running
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return {name: out / name for name in VARIANTS}


def check(capsys: pytest.CaptureFixture, run: Path, baseline: Path, *args: str
          ) -> tuple[int, dict]:
    """`python -m analyzer check RUN --baseline B --json ...`, in process."""
    capsys.readouterr()
    code = analyzer_main(["check", str(run), "--baseline", str(baseline), "--json", *args])
    return code, json.loads(capsys.readouterr().out)


def losses(run: Path) -> list[tuple[int, float]]:
    """(step, loss) of every iter event, read straight from the JSONL."""
    with open(run / "events.jsonl", encoding="utf-8") as f:
        return [(e["step"], e["loss"]) for e in map(json.loads, f) if e["type"] == "iter"]


@pytest.mark.slow
def test_ci_run_passes_the_committed_baseline(runs, capsys):
    # The command CI users type, in a child process: its exit status is what fails a build.
    proc = subprocess.run([sys.executable, "-m", "analyzer", "check", str(runs["golden"]),
                           "--baseline", str(BASELINE)], capture_output=True, text=True,
                          cwd=train.ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("golden check: PASS")
    # CI_CONFIG and the committed baseline describe the same run
    code, result = check(capsys, runs["golden"], BASELINE)
    assert code == 0
    assert [p for p in result["problems"] if p["kind"] == "config"] == []
    assert len(result["rows"]) == 200 + 2 * 9 + 1
    # Not exact mode against the committed curve: another CPU's kernels round differently
    # (seen in CI: 3.9327054 here, 3.93270493 where the baseline was made). Exact mode on
    # one machine is test_an_unchanged_rerun_is_bit_for_bit_equal.


@pytest.mark.slow
def test_the_trainers_stdout_log_passes_too(runs, capsys, tmp_path):
    # the same run read from its stdout (4-decimal losses): within tolerance, not exact
    log = runs["golden"].parent / "golden.stdout.log"
    code, result = check(capsys, log, BASELINE)
    assert code == 0 and result["run"] == str(log)
    # against the same run's events (made on this machine): only the printed rounding differs
    own = tmp_path / "golden.json"
    assert analyzer_main(["golden", str(runs["golden"]), "-o", str(own)]) == 0
    code, result = check(capsys, log, own)
    assert code == 0
    assert max(r["diff"] for r in result["rows"] if r["metric"] == "train_loss") <= 5e-5 + 1e-9
    code, _ = check(capsys, log, own, "--mode", "exact")
    assert code == 1


@pytest.mark.slow
def test_an_unchanged_rerun_is_bit_for_bit_equal(runs, capsys, tmp_path):
    first, again = losses(runs["golden"]), losses(runs["rerun"])
    assert len(first) == 200 and first == again
    baseline = tmp_path / "first.json"
    assert analyzer_main(["golden", str(runs["golden"]), "-o", str(baseline)]) == 0
    code, result = check(capsys, runs["rerun"], baseline, "--mode", "exact")
    assert code == 0 and result["status"] == "pass"
    assert len(result["rows"]) == 200 + 2 * 9 + 1


def final_val(result: dict) -> tuple[float, float]:
    row = next(r for r in result["rows"] if r["metric"] == "final_val_loss")
    return row["baseline"], row["candidate"]


@pytest.mark.slow
def test_learning_rate_x100_fails(runs, capsys):
    code, result = check(capsys, runs["lr_x100"], BASELINE)
    assert code == 1 and result["status"] == "regression"
    base, cand = final_val(result)
    assert cand > base * 1.1            # the run got worse, far outside 2%
    config = [p["message"] for p in result["problems"] if p["kind"] == "config"]
    assert config and f"config.learning_rate {LR:g} -> {LR * 100:g}" in config[0]


@pytest.mark.slow
def test_a_model_without_causal_mask_fails(runs, capsys):
    code, result = check(capsys, runs["no_causal_mask"], BASELINE)
    assert code == 1 and result["status"] == "regression"
    base, cand = final_val(result)
    assert cand < base / 2              # it reads the answer: loss far *below* the golden
    assert [p for p in result["problems"] if p["kind"] == "config"] == []   # same config
    # a one-sided check would let this bug through: that is why "both" is the default
    code, _ = check(capsys, runs["no_causal_mask"], BASELINE, "--direction", "worse")
    assert code == 0


def test_the_documented_workflow_trains_and_checks_the_ci_model():
    """docs/ci-check.md's GitHub Actions example runs what these tests run."""
    doc = (train.ROOT / "docs" / "ci-check.md").read_text(encoding="utf-8")
    yaml = re.search(r"```yaml\n(.*?)```", doc, re.S).group(1)
    folded = re.search(r"run: >\n((?: {10}.*\n)+)", yaml).group(1)
    cmd = shlex.split(folded)
    assert cmd[:4] == ["python", "-m", "trainer", "run"]
    flags = [a for a in cmd[4:] if not a.startswith(("--out_dir=", "--run_id="))]
    assert flags == train.CI_CONFIG
    env = dict(re.findall(r"^ {6}([A-Z_]+): (\S+)$", yaml, re.M))
    pins = {k: v for k, v in train.DETERMINISTIC_ENV.items() if not k.endswith("THREADS")}
    assert env == pins
    check = shlex.split(re.search(r"python -m analyzer check [^>\n]*", yaml).group(0))
    args = build_parser(check[3:]).parse_args(check[3:])
    assert (args.command, args.run, args.baseline, args.markdown) == (
        "check", "ci-logs/candidate", "tests/ci/baseline.json", True)


# -- the seed band (tests/ci/baseline_seeds.json: 3 seeds of the CI model) --------------------

@pytest.mark.slow
def test_an_unchanged_run_passes_the_seed_band(runs, capsys):
    code, result = check(capsys, runs["golden"], SEED_BASELINE)
    assert code == 0 and result["status"] == "pass"
    stats = result["statistics"]
    assert stats["seeds"]["n"] == 3 and stats["tolerance_source"] == "seed spread"
    assert stats["excursions"]["golden"] == []
    # the tolerances are the seeds' spread, not the fixed 2%
    assert result["tolerances"]["final_val_loss"]["rtol"] == stats["seeds"]["rtol"][
        "final_val_loss"]


@pytest.mark.slow
def test_a_tenth_of_the_learning_rate_leaves_the_seed_band(runs, capsys):
    code, result = check(capsys, runs["lr_div10"], SEED_BASELINE)
    assert code == 1 and result["status"] == "regression"
    base, cand = final_val(result)
    assert cand > base * (1 + result["tolerances"]["final_val_loss"]["rtol"])
    sides = {(e["metric"], e["side"]) for e in result["statistics"]["excursions"]["lr_div10"]}
    assert ("val_loss", "above") in sides
    # the same run fails the one-run baseline too (fixed 2%)
    assert check(capsys, runs["lr_div10"], BASELINE)[0] == 1
