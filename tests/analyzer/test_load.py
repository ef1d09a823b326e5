"""analyzer.load (analyzer/loader.py): content detection, clear one-line errors, the registry, RunBuilder."""
from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import analyzer
from analyzer import parsers as registry
from analyzer.run import RunBuilder
from analyzer.loader import LoadError, UnknownFormat
from analyzer.run import (ANOMALY_COLUMNS, CHECKPOINT_COLUMNS, EVAL_COLUMNS, ITER_COLUMNS,
                          METRIC_COLUMNS, ParseStats, Run)
from gptscope.schema import dumps, make_event

# -- a tiny fake format, to test the machinery without any real parser -----------------------
# Lines "STEP <n> LOSS <x>"; "RESTART" starts a new segment. test_follow.py uses it too.

_STEP = re.compile(r"STEP (\d+) LOSS (\S+)$")


def _fake_detect(head: list[str]) -> float:
    return min(1.0, sum(bool(_STEP.match(line)) for line in head) / 3)


class _FakeParser:
    def __init__(self, run_id: str = "log"):
        self.run_id, self.stats, self.started = run_id, ParseStats(), False

    def _start(self) -> dict:
        self.started = True
        return make_event("run_start", self.run_id, 0, 0.0, config={}, model={}, device="cpu",
                          dtype="float32", world_size=1, peak_flops_source="unknown",
                          source="fake")

    def feed(self, lines: list[str], first_lineno: int) -> list[dict]:
        out = []
        self.stats.lines += len(lines)
        for i, line in enumerate(lines):
            m = _STEP.match(line)
            if line == "RESTART":
                out.append(self._start())
            elif m:
                if not self.started:
                    out.append(self._start())
                out.append(make_event("iter", self.run_id, int(m.group(1)), 0.0,
                                      loss=float(m.group(2))))
            elif line.strip():
                self.stats.skip(first_lineno + i, "not a step line", line)
                continue
            else:
                continue
            self.stats.parsed += 1
        return out

    def finish(self) -> list[dict]:
        return []


FAKE = SimpleNamespace(NAME="fake", detect=_fake_detect, Parser=_FakeParser)


def fake_log(steps: range) -> str:
    return "".join(f"STEP {s} LOSS {2.0 - s / 1000}\n" for s in steps)


@pytest.fixture
def fake():
    registry.register(FAKE)
    yield FAKE
    registry.unregister("fake")


def events_text(n: int = 5, run_id: str = "r") -> str:
    evs = [make_event("run_start", run_id, 0, 1.0, config={}, model={}, device="cpu",
                      dtype="float32", world_size=1, peak_flops_source="unknown",
                      source="gptscope")]
    evs += [make_event("iter", run_id, s, 2.0 + s, loss=3.0 - s / 10, dt_ms=10.0)
            for s in range(n)]
    evs.append(make_event("eval", run_id, n, 9.0, train_loss=2.0, val_loss=2.2))
    return "".join(dumps(e) + "\n" for e in evs)


# -- load --------------------------------------------------------------------------------------

def test_load_a_run_directory(tmp_path):
    (tmp_path / "events.jsonl").write_text(events_text(4))
    run = analyzer.load(tmp_path)
    assert run.format == "gptscope" and run.source == str(tmp_path / "events.jsonl")
    assert run.iters["step"].tolist() == [0, 1, 2, 3] and len(run.evals) == 1
    assert run.meta["run_id"] == "r"
    for frame, columns in [(run.iters, ITER_COLUMNS), (run.evals, EVAL_COLUMNS),
                           (run.metrics, METRIC_COLUMNS), (run.checkpoints, CHECKPOINT_COLUMNS),
                           (run.anomalies, ANOMALY_COLUMNS)]:
        assert list(frame.columns) == columns


def test_jsonl_is_detected_by_content_whatever_its_name(tmp_path):
    path = tmp_path / "train.log"
    path.write_text(events_text(3))
    assert analyzer.load(path).format == "gptscope"


def test_foreign_format_named_events_jsonl_is_detected_by_content(tmp_path, fake):
    path = tmp_path / "events.jsonl"
    path.write_text("some banner\n" + fake_log(range(10)))
    run = analyzer.load(tmp_path)
    assert run.format == "fake" and run.iters["step"].tolist() == list(range(10))
    assert run.stats.skipped == 1 and run.stats.samples[0][0] == 1


def test_nanogpt_log_named_events_jsonl(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text("tokens per iteration will be: 16,384\n"
                    "iter 0: loss 4.2000, time 900.00ms, mfu -100.00%\n"
                    "iter 1: loss 4.1000, time 20.00ms, mfu -100.00%\n")
    run = analyzer.load(path)
    assert run.format == "nanogpt" and run.iters["step"].tolist() == [0, 1]


def test_unknown_format_is_one_line_naming_file_and_formats(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("dear diary\nnothing trained today\n")
    with pytest.raises(UnknownFormat) as e:
        analyzer.load(path)
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith(str(path))
    assert set(e.value.tried) == set(registry.names()) and "gptscope" in e.value.tried
    for name in e.value.tried:
        assert name in msg


OOM_LINE = ("torch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 100.00 MiB "
            "(GPU 0; 23.68 GiB total capacity)\n")
FRAMES = ("Traceback (most recent call last):\n  File \"/content/llama2.c/train.py\", line 312, "
          "in <module>\n    scaler.scale(loss).backward()\n")


@pytest.mark.parametrize("text, error", [
    # an issue's prose around a launch's one-line error (nanoGPT #208)
    ("I tried\n\n$ python train.py config/finetune_shakespeare.py\n\nIt needs memory.\n\n"
     + OOM_LINE, "torch.cuda.OutOfMemoryError: CUDA out of memory"),
    # a traceback out of a training script under a sentence that says 'out of memory' too
    ("So I tried 32 layers on an RTX A6000, which runs out of memory:\n```\n" + FRAMES
     + OOM_LINE + "```\nNext, I'll try an H100.\n", "torch.cuda.OutOfMemoryError"),
    # glog's CHECK in a C++ trainer, then the shell's report of the abort
    ("[COMMAND] ./gpt2 --input_bin data/train.bin --sequence_length 2048\n"
     "F20260316 10:24:11.964540 1405 dataset.cc:86] Check failed: sequence_length <= 1024 "
     "(2048 vs. 1024) \nrun.bash: line 161: 1818318 Aborted                 ./gpt2\n",
     "Check failed: sequence_length <= 1024"),
])
def test_a_training_job_that_died_before_any_line_of_data_is_a_failed_run(tmp_path, text,
                                                                         error):
    path = tmp_path / "issue.md"
    path.write_text(text)
    r = analyzer.load(path)
    assert r.n_segments == 1 and not len(r.iters)
    assert r.end["status"] == "failed" and r.end["error"].startswith(error)


def test_a_traceback_of_no_training_job_is_still_no_training_log(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n"
                    "ValueError: bad input\n")
    with pytest.raises(UnknownFormat):
        analyzer.load(path)


@pytest.mark.parametrize("content, problem", [
    (b"", "empty file"),
    (b"\n \r\n\t\n", "empty file \\(only blank lines\\)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
])
def test_empty_and_binary_files(tmp_path, content, problem):
    path = tmp_path / "x.log"
    path.write_bytes(content)
    with pytest.raises(LoadError, match=problem) as e:
        analyzer.load(path)
    assert str(e.value).startswith(str(path)) and "\n" not in str(e.value)


def test_missing_file_and_directory_without_events(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        analyzer.load(tmp_path / "nope.log")
    with pytest.raises(LoadError, match="without events.jsonl"):
        analyzer.load(tmp_path)


def test_explicit_format_skips_detection_and_unknown_name_is_an_error(tmp_path, fake):
    path = tmp_path / "x.log"
    path.write_text("STEP 1 LOSS 2.0\n")  # one line: too little for detection alone
    assert analyzer.load(path, format="fake").iters["step"].tolist() == [1]
    with pytest.raises(LoadError, match="unknown format 'nope'"):
        analyzer.load(path, format="nope")


def test_non_utf8_bytes_are_replaced(tmp_path):
    path = tmp_path / "events.jsonl"
    text = events_text(3).encode()
    path.write_bytes(text.replace(b'"run_id":"r"', b'"run_id":"r\xff"', 1) + b"\xfe\xff\n")
    run = analyzer.load(path)
    assert run.meta["run_id"] == "r\ufffd" and len(run.iters) == 3
    assert run.stats.skipped == 1 and run.stats.samples[0][0] == 6


def test_long_preamble_is_searched_further(tmp_path, fake):
    path = tmp_path / "record.txt"  # e.g. a log that starts with the training script
    path.write_text("import os\n" * 1000 + fake_log(range(5)))
    run = analyzer.load(path)
    assert run.format == "fake" and len(run.iters) == 5


def test_several_segments(tmp_path):
    text = events_text(3) + dumps(make_event("resume", "r", 2, 5.0, from_step=2)) + "\n" + \
        events_text(2, run_id="s")
    (tmp_path / "events.jsonl").write_text(text)
    run = analyzer.load(tmp_path)
    assert [s["kind"] for s in run.segments] == ["run_start", "resume", "run_start"]
    assert run.iters["segment"].tolist() == [0, 0, 0, 2, 2]
    assert run.evals["segment"].tolist() == [0, 2]


def test_importing_analyzer_stays_light():
    import subprocess
    import sys
    heavy = "sorted(m for m in ('pandas', 'matplotlib', 'streamlit', 'torch') if m in sys.modules)"
    code = (f"import sys, analyzer; print({heavy}); analyzer.load, analyzer.Follower; "
            f"print({heavy})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.split("\n")[:2] == ["[]", "['pandas']"]


def test_analyzer_load_is_a_plain_function(tmp_path):
    import types

    import analyzer.loader as module
    from analyzer import load
    (tmp_path / "events.jsonl").write_text(events_text(2))
    assert isinstance(load, types.FunctionType) and load is module.load is analyzer.load
    assert type(module) is types.ModuleType
    assert len(analyzer.load(tmp_path).iters) == 2


# -- the registry ------------------------------------------------------------------------------

def test_registry_lists_our_format_first_and_tolerates_missing_modules(monkeypatch):
    monkeypatch.setattr(registry, "MODULES", registry.MODULES + ("not_written_yet",))
    assert registry.names()[0] == "gptscope"
    assert "not_written_yet" not in registry.names()


def test_a_failing_detector_counts_as_zero(fake, monkeypatch):
    def boom(head):
        raise RuntimeError("bug")
    monkeypatch.setattr(FAKE, "detect", boom)
    # (the generic reader may still take the lines; the broken detector never does)
    assert ("fake" in registry.names()) and registry.detect(["STEP 1 LOSS 2"] * 5) != "fake"


def test_ties_go_to_the_earlier_format(fake):
    twin = SimpleNamespace(NAME="twin", detect=_fake_detect, Parser=_FakeParser)
    registry.register(twin)
    try:
        assert registry.detect(["STEP 1 LOSS 2"] * 5) == "fake"
    finally:
        registry.unregister("twin")


def _heads() -> list[list[str]]:
    """The first lines of every fixture log, as detection gets them (and '# '-stripped)."""
    from analyzer.loader import head_lines
    from tests.analyzer._snapshot import fixtures
    out = []
    for p in fixtures():
        if p.is_file():
            head = head_lines(p.read_bytes(), 256 << 10, registry.HEAD_LINES)
            out += [head, [t[2:] if t.startswith("# ") else t for t in head]]
    return out


def test_detect_is_the_best_score_without_asking_a_beaten_format():
    """detect() skips a format once an earlier one is as sure as it can ever be (CEILINGS):
    the answer is still scores()' winner on every fixture, and no detector ever goes above
    its ceiling (else skipping it would change answers)."""
    heads = _heads()
    assert len(heads) > 900
    for head in heads:
        ranked = registry.scores(head)
        want = ranked[0][1] if ranked[0][0] >= registry.MIN_CONFIDENCE else None
        assert registry.detect(head) == want
        for name, ceiling in registry.CEILINGS.items():
            assert registry.get(name).detect(head) <= ceiling


def test_a_nanogpt_log_is_read_without_importing_the_generic_reader(tmp_path, repo_root):
    log = tmp_path / "train.log"
    log.write_text("".join(f"iter {i}: loss 2.5, time 90.00ms, mfu 30.00%\n" for i in range(9)))
    code = ("import sys, analyzer; r = analyzer.load(sys.argv[1]); "
            "print(r.format, len(r.iters), 'analyzer.parsers.generic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(log)], cwd=repo_root, check=True,
                         capture_output=True, text=True).stdout.split()
    assert out == ["nanogpt", "9", "False"]


# -- RunBuilder --------------------------------------------------------------------------------

def test_run_frames_are_safe_to_modify():
    builder = RunBuilder("gptscope")
    builder.add_events([make_event("iter", "r", s, 0.0, loss=1.0) for s in range(5)])
    first = builder.run()
    first.iters.loc[0, "loss"] = 99.0
    first.iters["loss"] *= 2
    builder.add_events([make_event("iter", "r", 5, 0.0, loss=1.0)])
    assert builder.run().iters["loss"].tolist() == [1.0] * 6


def test_builder_frames_equal_from_events_for_all_tables():
    evs = [make_event("metric", "r", 1, 1.0, name="hellaswag", value=0.3),
           make_event("checkpoint", "r", 2, 1.0, path="ckpt.pt", val_loss=1.5),
           make_event("anomaly", "r", 3, 1.0, kind="nonfinite_loss", value="nan",
                      action="continue"),
           make_event("iter", "r", 3, 1.0, loss=None, slowest_rank=None),
           make_event("run_end", "r", 3, 2.0, status="failed", error="nan")]
    builder = RunBuilder("gptscope")
    builder.add_events(evs[:2])
    builder.run()
    builder.add_events(evs[2:])
    got, want = builder.run(), Run.from_events(evs, "gptscope")
    for name in ("iters", "evals", "metrics", "checkpoints", "anomalies"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name))
    assert got.end == want.end


# -- every real log loads ----------------------------------------------------------------------

FOLDER_FORMAT = {"nanogpt": "nanogpt", "build-nanogpt": "buildnanogpt", "llmc": "llmc",
                 "modded-nanogpt": "modded", "nanochat": "nanochat"}


def _real_files() -> list[Path]:
    from tests.conftest import REALDATA
    return sorted(p for p in REALDATA.glob("*/*") if p.is_file())  # none: an empty set fails


@pytest.mark.parametrize("path", _real_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_real_log_loads_as_the_format_of_its_folder(path, realdata):
    module = FOLDER_FORMAT[path.parent.name]
    mod = importlib.import_module(f"analyzer.parsers.{module}")
    run = analyzer.load(path)  # even a job's stderr without training lines loads (0 iters)
    assert run.format == mod.NAME
    for frame, columns in [(run.iters, ITER_COLUMNS), (run.evals, EVAL_COLUMNS),
                           (run.metrics, METRIC_COLUMNS), (run.checkpoints, CHECKPOINT_COLUMNS),
                           (run.anomalies, ANOMALY_COLUMNS)]:
        assert list(frame.columns) == columns
    assert run.stats.lines > 0
