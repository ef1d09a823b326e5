"""The generic reader's step records printed a field at a time, or by a trainer's hooks:
Composer's one-metric lines and Trax's step lines (generic_blocks), OLMo's and Composer's
step blocks, Keras' epochs (generic_keras) and TensorFlow's hook lines (generic_lines.TF_HOOK).
Methods of generic.Parser (a StdoutParser), as generic_clock's are; the state they use
(``_block_step``, ``_keras_epoch``, ``_trained``...) is set up by its __init__."""
from __future__ import annotations

from analyzer.parsers._text import to_float
from analyzer.parsers.generic_lines import TF_CKPT, TF_FINAL, TF_HOOK, TF_NAN


class StepRecords:
    """A mixin of generic.Parser: see the module docstring."""

    def _tf_hook(self, text: str) -> bool:
        """TensorFlow's hook lines (generic_lines.TF_HOOK): a loss line's seconds are those
        since the hook's last line, per step over the steps between; the step's line again
        (absl's copy beside TF's logger, another rank's) is the first one's; a NaN the hook
        stopped the run on is a non-finite loss at a step the log does not print."""
        if (m := TF_HOOK.match(text)) is not None:
            step, prev = int(m.group(2)), self.last_iter_step
            if step == prev and self._new_run is None:
                return True  # another rank's line of the step (Horovod: each prints its own)
            ms = None
            if m.group(3) is not None and prev is not None and step > prev:
                ms = float(m.group(3)) * 1000.0 / (step - prev)
            self._train_line(step, {"loss": to_float(m.group(1)), "step_ms": ms})
        elif TF_NAN.match(text):
            self.anomaly(None, "nonfinite_loss", "nan", "stop")
        elif (m := TF_CKPT.match(text)) is not None:
            self.checkpoint(int(m.group(1)), m.group(2))
        elif TF_FINAL.match(text) and self.last_iter_step is not None:
            self.completed()
        else:
            return False
        return True

    def _metric_line(self, step: int, field: tuple[str, float | None]) -> bool:
        """Composer's one-metric line (generic_blocks.metric_line): a field of its batch's
        block, which the first line of another batch (or any other line) ends."""
        if self._block_step is not None and self._block_step[0] != step:
            self._flush_step_block()
        if self._block_step is None:
            self._block_step = (step, None, self.raw_line, {})
        if field[0] and field[0] not in self._block_step[3]:
            self._block_step[3][field[0]] = field[1]
        return True

    def _flush_step_block(self) -> None:
        """A step block read whole (generic_blocks): its step's line, and its eval."""
        if self._block_step is None:
            return
        (step, total, raw, f), self._block_step = self._block_step, None
        if total is not None:
            self.planned_steps(total)
        self.raw_line = raw  # (the header's timestamp times the step)
        if "loss" in f or "val_loss" not in f:
            self._train_line(step, {k: v for k, v in f.items() if k != "val_loss"})
        if "val_loss" in f:
            self.evaluation(step, val_loss=f["val_loss"])

    def _keras_progress(self, k: dict[str, float | None]) -> None:
        """A Keras epoch's progress line: once finished (count = total), the epoch as the
        run's step, its batches' time as the step time, its seconds moving the clock."""
        if "eta" in k or k["count"] != k["total"]:
            return  # (the epoch is not done: its summary comes later)
        epoch, epochs = self._keras_epoch
        self.planned_steps(epochs)
        self._trained = True
        seconds = k.get("epoch_s")
        self.iteration(epoch, loss=k.get("loss"), lr=k.get("lr"), step_ms=k.get("step_ms"),
                       clock_s=self.elapsed + seconds if seconds is not None else None)
        if "val_loss" in k:
            self.evaluation(epoch, val_loss=k["val_loss"])

    def _epoch_loss(self, name: str, value: float | None) -> bool:
        """An epoch's train or val loss alone on its line, after Keras' epoch line (see
        generic_keras.epoch_loss): the epoch is the step; a val loss with no train loss
        before it is the epoch's eval alone."""
        epoch, epochs = self._keras_epoch
        self.planned_steps(epochs)
        if name == "loss":
            self._trained = True
            self.iteration(epoch, loss=value)
        else:
            self.evaluation(epoch, val_loss=value)
        return True
