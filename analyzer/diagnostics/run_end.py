"""How the run ended, when it says: a run_end event with status failed or interrupted."""
from __future__ import annotations

from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.findings import Finding
from analyzer.run import Run


def run_failed(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """A run_end event whose status is not 'completed'."""
    end = run.end or {}
    status = end.get("status")
    if status not in ("failed", "interrupted"):
        return []
    step = end.get("step") if end.get("step") is not None else end.get("steps")
    error = (end.get("error") or "").strip()
    last_line = error.splitlines()[-1].strip() if error else ""
    where = f"at step {step}" if step is not None else "with no training step logged"
    if status == "failed":
        msg = f"The run failed {where}" + (f": {last_line}" if last_line else ".")
        tip = ("Read the error; an out-of-memory error calls for a smaller micro-batch (more "
               "gradient accumulation) or activation checkpointing. Resume from the last "
               "checkpoint once fixed.")
    else:
        msg = f"The run was stopped {where}" + (f": {last_line}" if last_line else
                                                " before reaching its last iteration.")
        tip = ("A scheduler time limit needs a longer allocation or a resume from the last "
               "checkpoint; if you stopped it yourself, resume it the same way when you want.")
    if not msg.endswith((".", "*")):
        msg += "."
    segment = max(0, run.n_segments - 1)
    return [Finding(
        code="run_failed" if status == "failed" else "run_interrupted",
        severity="error" if status == "failed" else "warning", segment=segment,
        steps=(int(step), int(step)) if isinstance(step, int) else None, message=msg,
        evidence={"status": status, "error": error[-500:] or None, "steps": end.get("steps"),
                  "wall_s": end.get("wall_s")},
        suggestion=tip)]
