"""Sinks: the JSONL file sink and the nanoGPT stdout format."""
import io
import json

from gptscope import schema
from trainer.events import EventLog, JsonlSink, NullSink, StdoutSink, format_iter


def iter_event(**kw):
    fields = dict(loss=1.23456, lr=1e-3, grad_norm=0.5, dt_ms=12.345, step_ms=10.0,
                  tokens_per_s=100.0, mfu=0.1234, mfu_smoothed=None)
    return schema.make_event("iter", "r", 7, 0.0, **{**fields, **kw})


def test_iter_line_is_nanogpt_format_and_never_a_sentinel():
    assert format_iter(iter_event()) == "iter 7: loss 1.2346, time 12.35ms, mfu 12.34%"
    assert format_iter(iter_event(mfu_smoothed=0.2)).endswith("mfu 20.00%")
    assert format_iter(iter_event(mfu=None)) == "iter 7: loss 1.2346, time 12.35ms, mfu n/a"
    assert format_iter(iter_event(loss=float("nan"))).startswith("iter 7: loss nan,")


def test_jsonl_sink_writes_one_flushed_line_per_event(tmp_path):
    path = tmp_path / "events.jsonl"
    log = EventLog("r", [JsonlSink(path), NullSink()])
    log.emit("eval", 0, train_loss=1.0, val_loss=2.0, eval_ms=3.0, best_val_loss=2.0)
    # visible to a reader before close: flushed per line
    (line,) = path.read_text().splitlines()
    assert json.loads(line)["val_loss"] == 2.0
    log.message("free text goes to stdout sinks only")
    log.close()
    assert len(path.read_text().splitlines()) == 1


def test_jsonl_sink_ends_a_torn_last_line_before_appending(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"type":"iter","v":1,"run_id":"r","ti')  # a writer killed mid-line
    sink = JsonlSink(path)
    sink.emit(schema.make_event("resume", "r", 5, 0.0, from_step=5, checkpoint="ckpt.pt"))
    sink.close()
    events = list(schema.read_events(path.read_text().splitlines()))
    assert isinstance(events[0], schema.BadLine) and events[1]["type"] == "resume"


def test_stdout_sink_lines(tmp_path):
    out = io.StringIO()
    log = EventLog("r", [StdoutSink(out, run_dir="logs/r")])
    log.emit("eval", 250, train_loss=1.5, val_loss=1.75, eval_ms=3.0, best_val_loss=1.75)
    log.emit("checkpoint", 250, path="ckpt.pt", val_loss=1.75)
    log.emit("anomaly", 251, kind="nonfinite_loss", value="nan", action="skip")
    log.emit("run_end", 300, status="completed", steps=300, wall_s=12.0)
    assert out.getvalue().splitlines() == [
        "step 250: train loss 1.5000, val loss 1.7500",
        "saving checkpoint to logs/r",
        "warning: step 251: non-finite loss (nan), action: skip",
        "run completed after 300 iterations in 12.0s"]


def test_stdout_sink_survives_a_closed_pipe():
    class Broken(io.StringIO):
        def write(self, s):
            raise BrokenPipeError(32, "Broken pipe")

    sink = StdoutSink(Broken())
    sink.message("hello")  # does not raise: the run goes on, events.jsonl has the record
    sink.emit(iter_event())
    sink.close()


def test_events_keep_the_digits_that_matter_and_no_more(tmp_path):
    import numpy as np
    path = tmp_path / "events.jsonl"
    log = EventLog("r", [JsonlSink(path)])
    loss32 = float(np.float32(4.156131744384766))
    ev = log.emit("iter", 1, loss=loss32, lr=1 / 101000, grad_norm=float("nan"),
                  dt_ms=91.98455800014926, step_ms=91.73495899995032,
                  tokens_per_s=8371.94465852888, mfu=0.4008685414840168)
    log.close()
    written = json.loads(path.read_text())
    assert written == ev
    assert np.float32(written["loss"]) == np.float32(loss32)   # float32 loss round-trips
    assert written["dt_ms"] == 91.985 and written["step_ms"] == 91.735  # microseconds
    assert written["mfu"] == 0.40086854 and written["grad_norm"] is None
    assert written["lr"] == 9.9009901e-06 and written["time"] == round(written["time"], 3)
    assert len(path.read_text()) < 300
