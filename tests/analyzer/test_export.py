"""`export --tensorboard`: any run we read, written as TensorBoard scalars, reads back as the
same series (values at float32, TensorBoard's scalar precision)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from analyzer.export import event_scalars, export_tensorboard
from analyzer.loader import load

import tensorboard as _tb_extra  # noqa: E402,F401  in the dev extra: never skipped

DATA = Path(__file__).parent.parent / "data"
REAL = {
    "nanogpt": DATA / "realdata" / "nanogpt" / "austengpt-readme-cpu-excerpt.log",
    "lightning": DATA / "formats" / "lightning" / "slm_training_version_0_metrics.csv",
    "hf_trainer": DATA / "formats" / "hf_trainer" / "sentence-transformers-pr2449-stdout.log",
}


def _f32(series) -> np.ndarray:
    return series.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)


def _same(a, b) -> None:
    """Same steps and the same values of every exported column (NaN where not logged)."""
    assert a.iters["step"].tolist() == b.iters["step"].tolist()
    for col in ("loss", "lr", "grad_norm", "dt_ms", "step_ms", "tokens_per_s", "mfu"):
        np.testing.assert_array_equal(_f32(a.iters[col]), _f32(b.iters[col]), err_msg=col)
    assert a.evals["step"].tolist() == b.evals["step"].tolist()
    for col in ("val_loss", "train_loss"):
        np.testing.assert_array_equal(_f32(a.evals[col]), _f32(b.evals[col]), err_msg=col)
    # one value per tag and step in TensorBoard: the last one logged (an HF eval dict
    # repeats the train dict's epoch)
    key = ["name", "step"]
    ma, mb = (m.drop_duplicates(key, keep="last").sort_values(key, kind="stable")
              for m in (a.metrics, b.metrics))
    assert ma[key].values.tolist() == mb[key].values.tolist()
    np.testing.assert_array_equal(_f32(ma["value"]), _f32(mb["value"]))


@pytest.mark.parametrize("kind", sorted(REAL))
def test_round_trip_of_real_logs(tmp_path, kind):
    run = load(REAL[kind])
    res = export_tensorboard(run, tmp_path / "tb")
    assert Path(res.path).parent == tmp_path / "tb" and res.points > 0
    back = load(tmp_path / "tb")
    assert back.format == "tensorboard"
    _same(run, back)
    np.testing.assert_allclose(back.iters["time"], run.iters["time"])


def test_round_trip_of_our_own_events(tmp_path):
    from gptscope.schema import dumps, make_event  # a run as our trainer writes it
    events = [make_event("run_start", "r", 0, 1.7e9, config={}, model={}, source="gptscope",
                         peak_flops_source="unknown")]
    for s in range(0, 50):
        events.append(make_event("iter", "r", s, 1.7e9 + s, loss=3 - s / 100, lr=6e-4,
                                 grad_norm=1.0, dt_ms=1000.0, step_ms=900.0,
                                 tokens_per_s=1234.5, mfu=0.31))
        if s % 10 == 0:
            events.append(make_event("eval", "r", s, 1.7e9 + s + 0.5, train_loss=2.9,
                                     val_loss=3.1 - s / 200))
    events.append(make_event("metric", "r", 40, 1.7e9 + 41, name="hellaswag", value=0.27))
    d = tmp_path / "run"
    d.mkdir()
    (d / "events.jsonl").write_text("".join(dumps(e) + "\n" for e in events))
    run = load(d)
    export_tensorboard(run, tmp_path / "tb")
    _same(run, load(tmp_path / "tb"))


def test_event_scalars_leave_out_nulls():
    assert event_scalars({"type": "iter", "loss": 2.0, "lr": None, "mfu": float("nan")}) == [
        ("train/loss", 2.0)]
    assert event_scalars({"type": "metric", "name": "core", "value": 0.2}) == [("core", 0.2)]
    assert event_scalars({"type": "run_end"}) == []


def test_cli_export_and_map(tmp_path):
    out = tmp_path / "tb"
    r = subprocess.run([sys.executable, "-m", "analyzer", "export", str(REAL["lightning"]),
                        "--tensorboard", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "scalars" in r.stderr and str(out) in r.stderr
    def logged(*maps: str) -> int:
        r = subprocess.run([sys.executable, "-m", "analyzer", "summary", str(out), "--json",
                            *maps], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)["iters_logged"]
    assert logged() == 114
    assert logged("--map", "train/loss=metric") == 0  # the only iteration tag made a metric
    r = subprocess.run([sys.executable, "-m", "analyzer", "summary", str(REAL["nanogpt"]),
                        "--map", "x=loss"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--map" in r.stderr


@pytest.mark.parametrize("path", [
    DATA / "formats" / "tensorboard",
    DATA / "formats" / "hf_trainer" / "llm-training_trainer_state.json",
    DATA / "formats" / "hf_trainer" / "transformers-pr35207-stdout.log",
    DATA / "formats" / "lightning" / "slm_training_version_0_metrics.csv"])
def test_every_verb_takes_the_scalar_formats(tmp_path, path, capsys):
    from analyzer.cli import main
    assert main(["summary", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["iters_logged"] > 0
    assert main(["diagnose", str(path), "--fail-on", "error"]) == 0
    assert main(["report", str(path), "-o", str(tmp_path / "r.html")]) == 0
    assert main(["parse", str(path), "-o", str(tmp_path / "e.jsonl")]) == 0
    assert main(["golden", str(path), "-o", str(tmp_path / "g.json")]) == 0
    assert main(["check", str(path), "--baseline", str(tmp_path / "g.json")]) == 0


def test_parse_of_an_exported_run_writes_events(tmp_path):
    # an exported folder has no eval-inclusive tag: parse must still convert it (it raised KeyError)
    export_tensorboard(load(REAL["nanogpt"]), tmp_path / "tb")
    out = tmp_path / "back.jsonl"
    subprocess.run([sys.executable, "-m", "analyzer", "parse", str(tmp_path / "tb"), "-o",
                    str(out)], check=True, capture_output=True, text=True)
    iters = [json.loads(line) for line in out.read_text().splitlines()
             if json.loads(line)["type"] == "iter"]
    assert len(iters) == len(load(REAL["nanogpt"]).iters)
    assert not any(e["eval_inclusive"] for e in iters)
