"""TensorBoard sink (``--tensorboard=true``): the run's scalars as an event file beside
events.jsonl, so that ``tensorboard --logdir logs`` shows every run.

The tags are those of ``python -m analyzer export`` (train/loss, train/lr, eval/loss, ...,
metrics by name; see analyzer/export.py), so a run looks the same whether it was exported
later or written live. A resumed run writes a new event file into the same directory: its
steps start again from the checkpoint, which TensorBoard (and our reader) take as a
restart. Needs the optional extra: ``pip install 'gptscope[tensorboard]'``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from trainer.config import ConfigError


class TensorBoardSink:
    """Writes the scalars of iter, eval and metric events; other events carry none."""

    def __init__(self, run_dir: Path):
        from analyzer.export import EventWriter, event_scalars
        try:
            self._writer = EventWriter(run_dir, suffix=".gptscope")
        except ImportError as e:  # the extra is missing: one line naming it, before training
            raise ConfigError("tensorboard", str(e)) from None
        self._scalars = event_scalars

    def emit(self, event: dict[str, Any]) -> None:
        step = event.get("step")
        if isinstance(step, int):
            self._writer.add(step, float(event.get("time") or 0.0), self._scalars(event))

    def message(self, text: str) -> None:
        pass  # free text is for the terminal

    def close(self) -> None:
        self._writer.close()
