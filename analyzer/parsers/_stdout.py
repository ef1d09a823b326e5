"""What every stdout-log parser shares: segments, headers, run ends and statistics.

A format's parser subclasses ``StdoutParser`` and implements ``parse_line`` (one cleaned,
non-blank line -> True if it understood it), calling ``iteration``, ``evaluation``,
``metric``, ``checkpoint`` and the header setters. This base turns those calls into schema
events with the same rules for every format:

- **Segments.** A ``run_start`` is emitted lazily, just before the first data event of a run,
  so that it carries every header line printed before it (DDP prints the header once per
  rank: the repeats simply merge). A new segment starts when a header line or a start marker
  (``resume_marker``) comes after data and more data follows, or when the step goes
  backwards. An iteration line that steps back with no header or marker before it is held
  until the next line: if that one continues the old steps, the held line was one stray
  line pasted out of order (skipped as 'out of order', never a resume, never the final
  value); otherwise it starts the new segment. A format opts in with ``peek_step``. Header
  lines that come after the last data event and are never followed by data (other ranks'
  block-buffered output flushed at exit) are ignored. A step that does not advance is a new
  run (``run_start``) when it starts from 0, or goes back after some progress to where the
  run's data started within its first 10 steps (no checkpoint is that early), or follows a
  line no format knows that looks like a run's header (``_banner``: a settings banner, a
  seed, a command, a parameter count, a config echo: benchmarks and seed loops print their
  own) or the markdown a log was pasted into (a code fence, a heading: a second paste), else
  a ``resume``; the first segment is always a ``run_start``.
- **Time.** Foreign logs carry no clock: an event's ``time`` is the seconds elapsed since the
  start of the log, summed from the printed per-step times (``dt_ms``, else ``step_ms``). A
  log that prints every Nth step shows one step's time per line, so a line counts for the N
  steps since the previous one (an eval-inclusive line: its own time plus N-1 times the last
  plain step's); ``clock_step`` does the sum, and bulk readers repeat it exactly.
- **Non-finite values.** A NaN/Inf loss is written as null with an ``anomaly`` event after
  the iteration (action 'continue': these trainers do not react to it).
- **Endings.** Only what the log states: a scheduler's cancel message or a job killed by a
  signal ('interrupted'), ``[CUDA ERROR]``, a failed assertion, ``Aborted``/``Killed`` or a
  Python traceback that is not followed by more training ('failed', with the message), or a
  format's own completion line. A traceback is only known to be final at ``finish()``.
- **Statistics.** Every non-blank line is counted as parsed or skipped (with a reason:
  'unrecognised', 'warning', 'traceback', 'elision', 'spliced', 'duplicate'); nothing is
  fatal. An iteration line repeated right after itself (pasted twice) is a 'duplicate':
  skipped, never a step going back (a resume). So is a line stepping back that repeats, to
  the character, one of the last ``REDRAW_WINDOW`` iteration lines, when the line holds a
  duration and its step is not 0: a console redrawing its screen (Windows terminals copy
  blocks of it again) or a paste repeated, never a restart (a restart's step times are not
  the same to the printed digits; untimed lines of a deterministic rerun may well be).

Lines spliced by a scheduler message (``...| norm  nan (slurmstepd: error: *** JOB ...``)
are cut at the message: the format may still read its values from the part before
(``parse_partial``), and the message itself ends the run.
"""
from __future__ import annotations

import math
import re
from collections import deque
from typing import Any, Callable

from analyzer.parsers._banner import PROMPT
from analyzer.parsers._endings import CTRL_C, SPLICE, ending_status
from analyzer.parsers._events import event, finite_or_none, iter_event
from analyzer.parsers._header import Header, jsonable
from analyzer.parsers._shared_lines import CUT_TRACEBACK, SharedLines
from analyzer.parsers._text import (MAX_LINE, clean_line, finite, logged_as_note,
                                    nonfinite_name)
from analyzer.run import ParseStats

# Characters that never appear in a text log (C0 controls other than tab, ESC and the line
# ends): a line holding one is binary junk -- a crash's NUL padding, a blob, UTF-16 text.
_JUNK = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")
_COMMENT = "# "
_TIMED = re.compile(r"\d\s*(?:ms|s)\b")  # a line holding a duration ('1343.33ms', '2.1 s')


class StdoutParser(SharedLines):
    """Base of the stdout-log parsers (see the module docstring)."""
    NAME = "stdout"
    # True when the format's per-step time includes an eval printed just before the step
    # (nanoGPT, build-nanogpt measure from one iteration to the next).
    EVAL_IN_DT = False
    REDRAW_WINDOW = 200  # iteration lines back that a repeated line is looked for among

    def __init__(self, run_id: str = "log") -> None:
        self.run_id = run_id
        self.stats = ParseStats()
        self.header = Header()          # what the next run_start will say
        self.seg_header = self.header   # the header of the current segment
        self.segment = -1               # current segment number; -1 before the first
        self.elapsed = 0.0              # seconds since the start of the log (see docstring)
        self.last_iter_step: int | None = None
        self.last_eval_step: int | None = None
        self.last_ms: float | None = None  # the last plain (not eval-inclusive) step time
        self._out: list[dict[str, Any]] = []
        self._new_run: str | None = None       # 'run_start'/'resume' pending after data
        self._resume_from: str | None = None   # checkpoint named by a resume marker
        self._header_seen = False
        self._eval_step: int | None = None     # eval printed since the last iteration
        self._best_val: float | None = None
        self._ended = False
        self._completed_at: int | None = None  # the step a run that completed ended at
        self._in_traceback = False
        self._frame_source = False  # the line after an unindented 'File "..."' frame line
        self._exception: str | None = None     # last exception of a trailing traceback
        self._ignoring = False  # in a traceback Python printed for an error it ignored
        self._ipython_error: str | None = None  # in IPython's traceback of this exception
        self._notes: set[int] = set()  # lines (not yet read) that glog logged as warnings
        self._note_traceback = False  # in a traceback glog logged as a warning
        self._eval_steps: deque[int] = deque(maxlen=3)  # the segment's last eval steps
        self.launcher_failed = False  # torchrun said a worker failed (its report box follows)
        self._cuda_error: str | None = None    # '[CUDA ERROR] at file x' awaiting its message
        self._assertion: str | None = None
        self._root_cause = False  # inside torchrun's 'Root Cause (first observed failure):'
        self._reported: set[tuple[int | None, str]] = set()  # anomalies the log reported
        self._last_iter_text: str | None = None  # the last line read as an iteration
        self.raw_line = ""  # the line being read as written (its timestamp: see generic)
        self._signal_end = False  # the run ended at a signal's line, nothing read since
        self._recent: deque[str] = deque(maxlen=self.REDRAW_WINDOW)  # iteration lines read here
        self._recent_bulk: Callable[[], list[str]] | None = None  # a bulk reader's lines
        self._held: tuple[str, int] | None = None  # a line stepping back, awaiting the next
        self._after_held: list[tuple[str, int]] = []  # lines with no step after it
        self._banner = False  # a line like a run's header came after the last data
        self._banner_params: int | None = None  # a parameter count among such lines
        self._launched = False  # a launch or a command came after the data
        self._step_total: int | None = None  # the N of the last 'step i/N' line
        # the current segment's run_start said no max_iters: a run opened by its first eval
        # learns its N from the step line after (see planned_steps)
        self._start_lacks_total = False
        self._run_first: int | None = None  # the step the current run's data started at

    # ----------------------------------------------------------------- the interface
    def feed(self, lines: list[str], first_lineno: int) -> list[dict[str, Any]]:
        """Schema events for these consecutive lines (decoded, without line terminators)."""
        self._out = out = []
        for i, raw in enumerate(lines):
            self.stats.lines += 1
            if _JUNK.search(raw) and "\x1b" not in raw:  # (ANSI codes are looked at cleaned)
                self.stats.skip(first_lineno + i, "not text", raw)
                continue
            text = clean_line(raw)[:MAX_LINE]
            if text.strip():
                if text is not raw and logged_as_note(raw):
                    self._notes.add(first_lineno + i)
                self.raw_line = raw
                self._line(text, first_lineno + i)
        self._out = []
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Events only known at the end of the input: a traceback that ended the run, a
        run_start for a log with a header but no data."""
        self._out = out = []
        if self._held is not None:  # the last line stepped back: nothing confirms a restart
            text, lineno = self._held
            self._held = None
            self.stats.skip(lineno, "out of order", text)
            self._read_after_held()
        self._late_params()
        if self._ipython_error is not None:  # cut before its last line: its header named it
            self._exception, self._ipython_error = self._ipython_error, None
        elif self._in_traceback and self._exception is None:
            self._exception = CUT_TRACEBACK  # the log ends inside a traceback
        if self._cuda_error is not None:
            self._end("failed", self._cuda_error)
        if self._exception is not None and not self._ended and self._at_final_eval():
            error = self._exception  # (ending the run clears it)
            self._end("completed", None, self.last_eval_step)
            self._exception = error
        if self._exception is not None and not self._failed_after_completion():
            if self._new_run is not None:
                self._launch_failed()  # a launch that died before its first step
            elif not self._ended:
                self._end(ending_status(self._exception), self._exception)
        self._exception = self._cuda_error = None
        if self.segment < 0 and self._header_seen:
            self._start_segment("run_start", None)
        self._out = []
        return out

    def advance(self, n: int, last_step: int, elapsed: float, last_text: str,
                last_ms: float | None = None,
                recent: Callable[[], list[str]] | None = None) -> None:
        """Move over ``n`` plain iteration lines that a bulk reader read itself, leaving the
        parser as ``feed`` would have: lines counted as parsed, the last step, the clock
        (``elapsed``: seconds, summed in the order ``iteration`` adds them; ``last_ms``: the
        last line's step time) and the last line's text (a duplicate of it is skipped).
        ``recent``: gives the file's last ``REDRAW_WINDOW`` iteration lines (raw), asked for
        only when a line steps back (a repeat of one of them is skipped). A plain line is one
        that changes nothing else: it follows an iteration line, its step goes forward, its
        loss is finite."""
        self._recent_bulk = recent
        self.stats.lines += n
        self.stats.parsed += n
        self.last_iter_step = last_step
        self.elapsed = elapsed
        self.last_ms = last_ms
        self._last_iter_text = last_text
        self._eval_step = None
        self._exception = None

    def end_bulk(self) -> None:
        """A bulk reader is done: let go of its ``recent`` line source (it holds the file)."""
        self._recent_bulk = None

    @property
    def held_lineno(self) -> int | None:
        """The line number of an iteration line stepping back that waits for the next line
        to say whether it was a stray line or a restart (see ``_line``); None if none."""
        return None if self._held is None else self._held[1]

    # ----------------------------------------------------------------- for subclasses
    def parse_line(self, text: str, lineno: int) -> bool:
        """Read one cleaned, non-blank line; True if it belongs to the format."""
        raise NotImplementedError

    def peek_step(self, text: str) -> int | None:
        """The step of an iteration line, read without changing any state (None: not an
        iteration line, or a format that does not look ahead). With it, one stray line
        whose step goes back (pasted out of order) is told apart from a restart: see
        ``_line``."""
        return None

    def parse_partial(self, text: str, lineno: int) -> bool:
        """Read the beginning of a line that a scheduler message cut off."""
        return self.parse_line(text, lineno)

    def on_segment(self) -> None:
        """Reset per-segment state of the format (called when a segment starts)."""

    def header_line(self) -> Header:
        """Note a header line; returns the header it belongs to (a new one after data)."""
        self._header_seen = True
        self._failed_after_completion()
        if self.segment >= 0 and self._exception is not None and not self._ended:
            # an error or interrupt, then a new header: the run before it ended there (not
            # the next one, which may never print data: a shell's `time` echoing the command)
            self._end(ending_status(self._exception), self._exception)
            self._exception = None
        if self.segment >= 0 and self._new_run is None:  # after data: the next run
            self._new_run = "run_start"
            self.header = Header()
        return self.header

    @property
    def new_run_pending(self) -> bool:
        """A header line came after data: the next data starts a new run. An eval printed
        without its step (at the top of the next step) is then that run's step 0."""
        return self._new_run == "run_start"

    def step_total(self, total: int | None) -> None:
        """The N of a 'step i/N' line: the run's planned steps, the header's max_iters. Another
        N than the last line's is another run (two runs pasted one after the other without
        their headers), never a resume: a run resumed from a checkpoint prints the same N."""
        if total is None:
            return
        if (self._step_total is not None and total != self._step_total and self.segment >= 0
                and self.last_iter_step is not None):  # (not when its first eval opened it)
            self.header_line()
        self._step_total = total
        self.planned_steps(total)

    def planned_steps(self, total: int) -> None:
        """The run's planned steps as a line states them (the header's max_iters), unless the
        header gave them. A run opened by an eval line (nanochat's 'Step 00000 | Validation
        bpb', llm.c's 'val loss' before 'step 1/N') has emitted its run_start before its
        first step line says N: a ``max_iters`` metric then says it, which the RunBuilder
        takes into the run's meta (events already handed out are never changed)."""
        if self.header.max_iters is None:
            self.header.max_iters = total
            if self._start_lacks_total and self.seg_header is self.header:
                self._emit("metric", self.last_eval_step, name="max_iters", value=float(total))
        self._start_lacks_total = False

    def resume_marker(self, checkpoint: str | None = None) -> None:
        """'Resuming training from X': the next data continues a run from a checkpoint."""
        self.header_line()
        self._new_run = "resume"
        self._resume_from = checkpoint

    def iteration(self, step: int | None, *, loss: float | None = None,
                  lr: float | None = None, grad_norm: float | None = None,
                  dt_ms: float | None = None, step_ms: float | None = None,
                  tokens_per_s: float | None = None, mfu: float | None = None,
                  mfu_smoothed: float | None = None, clock_s: float | None = None) -> None:
        """One iteration line. ``clock_s``: the line's own clock (seconds since the start),
        for formats that print one; else the clock moves by the step time."""
        self._data(step, "iter")
        inclusive = (self.EVAL_IN_DT and dt_ms is not None and self._eval_step is not None
                     and self._eval_step == step)
        self._eval_step = None
        d = dt_ms if dt_ms is not None else step_ms
        if clock_s is not None:
            self.elapsed = clock_s
        elif d is not None and math.isfinite(d):
            self.elapsed += self.clock_step(d, step, inclusive)
        self._out.append(iter_event(self.run_id, self.elapsed, step, loss, lr, grad_norm, dt_ms,
                                    step_ms, inclusive, tokens_per_s, mfu, mfu_smoothed))
        if not (finite_or_none(loss) and finite_or_none(grad_norm)):
            for kind, value in (("nonfinite_loss", loss), ("nonfinite_grad", grad_norm)):
                name = nonfinite_name(value)
                if name is not None and (step, kind) not in self._reported:
                    self._emit("anomaly", step, kind=kind, value=name, action="continue")
        if step is not None:
            self.last_iter_step = step

    def clock_step(self, d: float, step: int | None, inclusive: bool) -> float:
        """Seconds the clock moves for an iteration line with step time ``d`` (ms): ``d``
        for each step since the previous iteration line (see the module docstring)."""
        last = self.last_iter_step
        if last is None:  # the segment's first: counts from its eval at step 0, if any
            last = self.last_eval_step
        span = step - last if step is not None and last is not None and step > last else 1
        if inclusive:
            extra = (span - 1) * self.last_ms if self.last_ms is not None else 0.0
            return (d + extra) / 1000.0
        self.last_ms = d
        return d * span / 1000.0

    def evaluation(self, step: int | None, *, train_loss: float | None = None,
                   val_loss: float | None = None, eval_ms: float | None = None) -> None:
        """One eval. Another at the same step right after it (no iteration, header, marker or
        error between) is the same eval printed again, by each rank of a DDP run whose every
        rank prints: the first is kept (never a new run per rank)."""
        if (step is not None and step == self._eval_step and self._new_run is None
                and self._exception is None and not self._ended):
            return
        self._data(step, "eval")
        if finite(val_loss) is not None and (self._best_val is None or val_loss < self._best_val):
            self._best_val = val_loss
        extra = {} if eval_ms is None else {"eval_ms": eval_ms}  # the eval's own time, printed
        self._emit("eval", step, train_loss=train_loss, val_loss=val_loss,
                   best_val_loss=self._best_val, **extra)
        self._eval_step = step
        if step is not None:
            self.last_eval_step = step

    def metric(self, step: int | None, name: str, value: float | None) -> None:
        self._data(step, "other")
        self._emit("metric", step, name=name, value=value)

    def checkpoint(self, step: int | None, path: str, val_loss: float | None = None) -> None:
        self._data(step, "other")
        self._emit("checkpoint", step, path=path, val_loss=val_loss)

    def anomaly(self, step: int, kind: str, value: str, action: str) -> None:
        """A non-finite value the trainer itself reported, with what it did about it; the
        iteration at that step then adds no anomaly of its own."""
        self._data(step, "other")
        self._emit("anomaly", step, kind=kind, value=value, action=action)
        self._reported.add((step, kind))

    def completed(self) -> None:
        """The format's own 'training finished' line."""
        self._end("completed", None)

    # ----------------------------------------------------------------- internals
    def _emit(self, etype: str, step: int | None, **fields: Any) -> None:
        self._out.append(event(etype, self.run_id, self.elapsed, step, fields))

    def _data(self, step: int | None, kind: str) -> None:
        """Open the first segment, or a new one (see the module docstring), before data."""
        self._exception = None  # training went on after a traceback: it was not fatal
        self.launcher_failed = False
        self._signal_end = False
        if self.segment < 0:
            self._start_segment("run_start", step)
        elif self._new_run is not None:
            self._start_segment(self._new_run, step)
        elif step is not None and kind != "other" and self._backwards(step, kind):
            # a new run or a restart from a checkpoint (see the module docstring)
            first, last = self._run_first, self.last_iter_step
            fresh = step == 0 or self._banner or (first is not None and step <= first <= 10
                                                  and last is not None and last > first)
            self._start_segment("run_start" if fresh else "resume", step)
        if kind != "other":  # a banner counts only between the data and the next step (a
            self._banner = False  # checkpoint line between is no step)
            if self._banner_params is not None:  # a count between the same run's data
                self._late_params()  # ('Model Parameters: 0.388 B' after step 0): its own
            self._banner_params, self._launched = None, False
        if kind == "eval" and step is not None and step not in self._eval_steps:
            self._eval_steps.append(step)

    def _start_segment(self, kind: str, step: int | None) -> None:
        self.segment += 1
        if kind == "resume" and self.segment > 0:
            self._emit("resume", step, from_step=step if step is not None else 0,
                       checkpoint=self._resume_from)
        else:
            self._run_first = step
            # a run started by its step going back to 0 keeps the header object of the run
            # before: a parameter count printed between the two is this run's, not that one's
            reused = self.header is self.seg_header and self.segment > 0
            self.seg_header = h = self.header
            if self._banner_params is not None and (reused or h.model.get("n_params") is None):
                h.model["n_params"] = self._banner_params  # the new run's own count
            self._emit("run_start", step, config=jsonable(h.config), model=jsonable(h.model),
                       tokens_per_iter=h.tokens_per_iter, max_iters=h.max_iters,
                       device=h.device, device_name=h.device_name,
                       dtype=h.dtype, world_size=h.world_size,
                       peak_flops=h.peak_flops, peak_flops_source=h.peak_flops_source,
                       torch_version=h.torch_version, source=self.NAME)
            self._start_lacks_total = h.max_iters is None
        self._new_run = self._resume_from = None
        self.last_iter_step = self.last_eval_step = self._eval_step = self._best_val = None
        self.last_ms = None
        self._ended = False
        self._eval_steps.clear()
        self.on_segment()

    def _end(self, status: str, error: str | None, step: int | None = None,
             wall_s: float | None = None, steps: int | None = None) -> None:
        """The run ended; ``step``: where, when the log says (else the last iteration);
        ``wall_s`` and ``steps``: the run's own account of its time and of the steps it
        took, when it prints one (a Trainer's train_runtime)."""
        if self._ended:
            return
        self._data(None, "other")
        step = step if step is not None else self.last_iter_step
        self._emit("run_end", step, status=status, error=error,
                   steps=steps if steps is not None else step,
                   wall_s=wall_s if wall_s is not None else self.elapsed)
        self._ended = True
        self._completed_at = step if status == "completed" else None

    def _line(self, text: str, lineno: int) -> None:
        """One line, with a one-line look-ahead for a step going back without a header or
        marker: it is held until the next line says whether the old steps go on (then it
        was a stray line, skipped as 'out of order', never a resume nor the final value) or
        not (then it starts a new segment, as it always did). Lines without a step in between
        wait with it (an example line pasted under a run's end, then a closing fence)."""
        step = self.peek_step(text) if self._new_run is None else None
        if self._held is not None:
            if step is None:  # prose, a fence, an eval: the next step decides, then these
                self._after_held.append((text, lineno))
                return
            held, self._held = self._held, None
            last = self.last_iter_step
            if step is not None and last is not None and step > last:
                self.stats.skip(held[1], "out of order", held[0])
            else:
                self._read(*held)
            self._read_after_held()
        elif (step is not None and self.last_iter_step is not None and not self._banner
              and step < self.last_iter_step and self.segment >= 0):
            if step != 0 and _TIMED.search(text) and self._repeats_recent(text):
                # a console redraw, not a step going back: a rerun or a restart would not
                # repeat the step time to the printed digits (untimed lines could repeat)
                self.stats.skip(lineno, "duplicate", text)
                return
            self._held = (text, lineno)
            return
        self._read(text, lineno)
        self._loss_scale(text)  # (an overflow may be glued after a step's bar)

    def _read(self, text: str, lineno: int) -> None:
        note = bool(self._notes) and lineno in self._notes
        if note:
            self._notes.discard(lineno)
        if _JUNK.search(text):  # skipped before it can end a traceback or a CUDA error
            self.stats.skip(lineno, "not text", text)
            return
        if self._cuda_error is not None:  # llm.c prints the CUDA error's text on the next line
            error, self._cuda_error = self._cuda_error, None
            self._end("failed", f"{error}: {text.strip()}")
            self.stats.parsed += 1
            return
        if CTRL_C in text:  # '^CTraceback': the interrupt, then the text it was glued to
            if not PROMPT.match(text.strip()):  # at a shell's prompt it interrupts no run
                self._exception = "KeyboardInterrupt (^C)"
            text = text.replace(CTRL_C, "")
            if not text.strip():
                self.stats.parsed += 1
                return
        m = SPLICE.search(text, 1)
        if m is not None:
            ok = self.parse_partial(text[:m.start()].rstrip(), lineno)
            self._generic(text[m.start():])
            if ok:
                self.stats.parsed += 1
            else:
                self.stats.skip(lineno, "spliced", text)
            return
        if self._in_traceback and text[:1].isspace():
            self.stats.skip(lineno, "traceback", text)
            return
        if text == self._last_iter_text:
            # the same iteration line twice in a row: pasted twice, or a tee'd terminal
            # repeating it; one step, counted as skipped, never a resume
            self.stats.skip(lineno, "duplicate", text)
            return
        n_out = len(self._out)
        try:
            understood = self.parse_line(text, lineno)
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError) as e:
            # a bug must not stop the reading of a log: count the line, say why
            self.stats.skip(lineno, f"parser error: {type(e).__name__}: {e}", text)
            return
        if not understood and text.startswith(_COMMENT) and len(text) > 2:
            # a log pasted into a script or notes as comments ('# step 00000/00528 | ...')
            understood = self.parse_line(text[2:], lineno)
        if understood:
            self._in_traceback, self._ipython_error = False, None
            self.stats.parsed += 1
            # only a repeat right after its line is a duplicate: after a header, an eval or
            # a resume marker the same text is a new step (a resume logs its first step again)
            iterated = any(ev["type"] in ("iter", "eval") for ev in self._out[n_out:])
            self._last_iter_text = text if iterated else None
            if iterated:
                self._recent.append(text)
            return
        if note and self._in_logged_traceback(text):
            self.stats.skip(lineno, "warning", text)
            return
        reason = self._generic(text)
        if reason is None:
            self.stats.parsed += 1
        else:
            self.stats.skip(lineno, reason, text)
