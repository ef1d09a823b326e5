"""How the run ended, when it says: a run_end event with status failed or interrupted.

The advice follows the cause the error text names (a NaN stop, an out-of-memory error, a
failed assertion, a process killed by a signal, a scheduler's time limit or cancel, Ctrl-C):
advising about memory for a NaN stop sends the reader the wrong way.
"""
from __future__ import annotations

import re

from analyzer.diagnostics.config import DiagnosticsConfig
from analyzer.findings import Finding
from analyzer.run import Run

# (cause, pattern on the error text, advice), first match wins: the most specific first.
_CAUSES: list[tuple[str, re.Pattern[str], str]] = [
    ("nonfinite", re.compile(r"NonFinite|non-finite|\bnan\b|\binf\b", re.IGNORECASE),
     "The trainer stopped on a non-finite loss or gradient: see the nonfinite_loss finding; "
     "resume from a checkpoint before the onset with a lower learning rate, a longer warm-up "
     "or gradient clipping."),
    # (MPS says 'Invalid buffer size: 12.28 GB' when an allocation is larger than it can give)
    ("out_of_memory", re.compile(r"out of memory|OutOfMemoryError(?!: out of resource)|\boom|"
                                 r"Invalid buffer size: \d|ResourceExhaustedError",
                                 re.IGNORECASE),
     "Out of memory: lower the micro-batch size (and raise gradient accumulation to keep the "
     "batch), shorten the context, or use activation checkpointing; then resume from the "
     "last checkpoint."),
    ("assertion", re.compile(r"Assertion|AssertionError"),
     "A check in the code failed: the message names the condition; it usually means a "
     "configuration the code does not support (shapes, sizes, divisibility). Fix the setting "
     "and start again."),
    ("time_limit", re.compile(r"TIME LIMIT", re.IGNORECASE),
     "The scheduler's time limit ended the job: ask for a longer allocation, or resume from "
     "the last checkpoint in a new job."),
    ("cancelled", re.compile(r"CANCELLED|Received SIG|death signal|forcing job termination"
                             r"|Job step aborted|SIGTERM"),
     "The job was cancelled or sent a signal from outside (a scheduler, a preemption, a "
     "person): resume from the last checkpoint when you want it to go on."),
    ("keyboard_interrupt", re.compile(r"KeyboardInterrupt|\^C|SIGINT"),
     "Stopped with Ctrl-C: resume from the last checkpoint if you want the run to go on."),
    ("killed", re.compile(r"(?<![A-Za-z])Killed(?![A-Za-z])|^zsh: killed\b|"
                          r"^\[\d+\] +(?:[+-] +)?\d+ +killed\b"),
     "The process was killed (SIGKILL): most often the host ran out of RAM and the "
     "kernel's OOM killer ended it (check `dmesg`; lower the data loader's memory or the "
     "batch), or a scheduler killed it."),
    ("collective_timeout", re.compile(r"collective operation timeout", re.IGNORECASE),
     "A collective (an all-reduce, an all-gather) never completed and NCCL's watchdog aborted "
     "the job: one rank hung or died, or the ranks ran different code paths (a desync). "
     "Look at the rank the desync report names (TORCH_NCCL_DESYNC_DEBUG=1 gives one; "
     "NCCL_DEBUG=INFO says more), then resume from the last checkpoint."),
    ("nccl_abort", re.compile(r"taking the entire process down", re.IGNORECASE),
     "An NCCL operation failed or timed out and PyTorch took the process down: across nodes "
     "most often the ranks cannot reach each other (set NCCL_SOCKET_IFNAME to the network "
     "interface they share, open the firewall between them, try NCCL_IB_DISABLE=1 to rule "
     "out InfiniBand); NCCL_DEBUG=INFO says which operation failed."),
    ("crash", re.compile(r"Segmentation fault|Bus error|Aborted|CUDA ERROR|cuBLAS|cuDNN|NCCL"
                         r"|illegal memory|CUBLAS_STATUS|cudaError", re.IGNORECASE),
     "The process crashed in native code: check the driver/library versions and the "
     "message; a CUDA error may be reported at a later call than the one that caused it "
     "(CUDA_LAUNCH_BLOCKING=1 pins it down)."),
]
_GENERIC = {"failed": "Read the error's last line and the traceback above it; fix the cause "
                      "and resume from the last checkpoint.",
            "interrupted": "Resume from the last checkpoint when you want the run to go on."}


def cause(error: str) -> tuple[str | None, str | None]:
    """The cause an error text names and the advice for it, or (None, None)."""
    for name, pattern, advice in _CAUSES:
        if pattern.search(error):
            return name, advice
    return None, None


def run_failed(run: Run, config: DiagnosticsConfig) -> list[Finding]:
    """A run_end event whose status is not 'completed': the last run's, and that of every
    earlier run in the file that ended so (a launch that crashed before the one that
    trained: its end is kept with its segment, see RunBuilder)."""
    last = max(0, run.n_segments - 1)
    ends = [(int(sg["segment"]), sg["end"]) for sg in run.segments
            if sg.get("end") and sg["end"].get("status") in ("failed", "interrupted")]
    runs = sum(1 for sg in run.segments if sg.get("kind") == "run_start")
    out = []
    for segment, end in ends:
        run_no = sum(1 for sg in run.segments[:segment + 1] if sg.get("kind") == "run_start")
        out.append(_finding(end, segment, f"Run {run_no} of {runs} in this file"))
    end = run.end or {}
    if end.get("status") in ("failed", "interrupted"):
        out.append(_finding(end, last, "The run"))
    return out


def _finding(end: dict, segment: int, who: str) -> Finding:
    status = end.get("status")
    step = end.get("step") if end.get("step") is not None else end.get("steps")
    error = (end.get("error") or "").strip()
    last_line = error.splitlines()[-1].strip() if error else ""
    where = f"at step {step}" if step is not None else "with no training step logged"
    name, tip = cause(error)
    if status == "failed":
        msg = f"{who} failed {where}" + (f": {last_line}" if last_line else ".")
    else:
        msg = f"{who} was stopped {where}" + (f": {last_line}" if last_line else
                                             " before reaching its last iteration.")
    if name == "out_of_memory" and "out of memory" not in last_line.lower():
        msg = msg.rstrip(".") + " (out of memory)"  # 'Invalid buffer size: 12.28 GB' says it not
    if not msg.endswith((".", "*")):
        msg += "."
    return Finding(
        code="run_failed" if status == "failed" else "run_interrupted",
        severity="error" if status == "failed" else "warning", segment=segment,
        steps=(int(step), int(step)) if isinstance(step, int) else None, message=msg,
        evidence={"status": status, "cause": name, "error": error[-500:] or None,
                  "steps": end.get("steps"), "wall_s": end.get("wall_s")},
        suggestion=tip or _GENERIC[status])
