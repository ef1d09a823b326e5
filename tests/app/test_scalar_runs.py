"""The dashboard with a TensorBoard run folder (and the other folders the analyzer reads
whole): listed as one run, charted, refreshed when its files change."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.discovery import discover
from app.live import LiveRegistry

import tensorboard as _tb_extra  # noqa: E402,F401  in the dev extra: never skipped
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

FORMATS = Path(__file__).parent.parent / "data" / "formats"
TB = FORMATS / "tensorboard" / "events.out.tfevents.1716735746.lstm-textgen-excerpt"
CSV = FORMATS / "lightning" / "slm_training_version_0_metrics.csv"


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "lightning_logs" / "version_0").mkdir(parents=True)
    shutil.copy(TB, root / "lightning_logs" / "version_0" / TB.name)
    (root / "lightning_logs" / "version_0" / "hparams.yaml").write_text("lr: 0.01\n")
    (root / "csv" / "version_1").mkdir(parents=True)
    shutil.copy(CSV, root / "csv" / "version_1" / "metrics.csv")
    ours = root / "ours"
    ours.mkdir()
    (ours / "events.jsonl").write_text("")
    (ours / "events.out.tfevents.1.x.gptscope").write_bytes(TB.read_bytes()[:200])
    return root


def test_folders_are_listed_as_one_run_each(logs):
    runs = {r.name: r.kind for r in discover(logs).runs}
    assert runs == {"lightning_logs/version_0": "scalars", "csv/version_1": "scalars",
                    "ours/events.jsonl": "events"}


def test_registry_reads_the_folder_and_follows_new_files(logs):
    reg = LiveRegistry(logs, watch=False, safety_poll_s=0)
    folder = logs / "lightning_logs" / "version_0"
    t = reg.refresh(folder)
    assert t.error is None and t.snapshot.format == "tensorboard"
    assert len(t.snapshot.evals) == 4 and t.version == 1
    assert reg.refresh(folder).version == 1  # nothing changed: not read again
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter
    time.sleep(1.1)  # a later file name (its creation second), as a resumed run gets
    w = EventFileWriter(str(folder))
    w.add_event(event_pb2.Event(step=60000, wall_time=1716740000.0, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="val_loss", simple_value=0.25)])))
    w.close()
    t = reg.refresh(folder)
    assert t.version == 2 and t.snapshot.evals["step"].tolist()[-1] == 60000


def test_dashboard_charts_a_tensorboard_folder(logs, monkeypatch, repo_root):
    monkeypatch.setenv("GPTSCOPE_LOGS", str(logs))
    try:
        at = AppTest.from_file(str(repo_root / "app" / "dashboard.py"), default_timeout=60)
        at.query_params["run"] = "lightning_logs/version_0"
        at.run()
        assert not at.exception, at.exception
        heads = [h.value for h in at.main.subheader if h.value != "Runs"]
        assert heads and "version" in heads[0] and "0.2769" in [m.value for m in at.main.metric]
        from tests.app.test_dashboard import panels
        assert len(panels(at)) >= 3  # loss, eval loss, step time (wall times), epoch metric
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()
