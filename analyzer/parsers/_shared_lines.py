"""Lines every stdout format shares, whatever else it prints: endings (tracebacks, signals,
native errors, a shell's report of a death), launches and commands, parameter counts, banners
and warnings. A mixin of StdoutParser (analyzer/parsers/_stdout.py), whose state it reads and
sets: what one of these lines means depends on what came before it (an error, then a command:
the launch before it failed)."""
from __future__ import annotations

import re

from analyzer.parsers._banner import (ARG, COMMAND, is_command, is_launch,
                                      looks_like_run_header, param_count, paste_break)
from analyzer.parsers._endings import (ASSERTION, CUDA_ERROR, EXCEPTION, NATIVE_ERROR, OOM,
                                       SHELL_DEATH, SIGNAL, SLURM_CANCEL, SUCCESS, TRACEBACK,
                                       WORKER_SIGNAL,
                                       ending_status, pending_ending)
from analyzer.parsers._header import Header, device_type
from analyzer.parsers._text import is_elision, literal

# torchrun's report on the launch that failed names the script, but starts nothing: 'failed
# (exitcode: 1) local_rank: 0 (pid: 3643914) of binary: /usr/bin/python3', 'train_gpt.py FAILED'
_LAUNCHER_REPORT = re.compile(r"\bFAILED\s*$|\bfailed \(exitcode: |\bexitcode\s*: ")
_PY_WARNING = re.compile(r"\S+\.py:\d+: \w*Warning: |\w*Warning: ")
_FRAME = 'File "'
CUT_TRACEBACK = "a Python traceback (its exception line is not in the log)"
_TRACE_CONT = ("During handling of the above exception", "The above exception was the direct",
               "--- Logging error ---", "Call stack:", "Message: ", "Arguments: ")


class SharedLines:
    """The shared lines' reading, for StdoutParser (see the module docstring)."""

    def _launch_failed(self) -> None:
        """An error, then a command: the launch before the command ended with that error,
        whether or not it logged any data (a run that crashed at start-up is one of the
        file's runs: 'failed, no training step logged'); the next data is a new run."""
        error = self._exception
        if self._new_run is not None:  # a launch after a launch that failed: its own run
            self._data(None, "other")
        self._end(ending_status(error), error)
        self._exception = None
        self._new_run = "run_start"
        self.header = Header()

    def _command_line(self, text: str) -> None:
        """A command line's ``--key=value`` arguments are the run's settings (nanoGPT's
        configurator takes them so): device, dtype and compile inform the findings."""
        h = self.header_line()
        for key, raw in ARG.findall(text):
            value = h.config[key] = literal(raw)
            if key == "device":
                h.device = device_type(value) or h.device
            elif key == "dtype" and isinstance(value, str):
                h.dtype = value

    def _generic(self, text: str) -> str | None:
        """Lines every format shares: endings, tracebacks, warnings, what comes between two
        runs. None if it was an ending (parsed), else the reason the line is skipped."""
        t = text.strip()
        if self._completed_at is not None and self._exception is not None and SUCCESS.search(t):
            self._exception = None  # the run completed and the script went on past the error
            return None
        reason = self._ending_line(t)
        return self._between_runs(t) if reason is False else reason

    def _ending_line(self, t: str) -> str | None | bool:
        """Endings and tracebacks: None (an ending, parsed), a skip reason, or False (none
        of these)."""
        if SLURM_CANCEL.search(t) or SIGNAL.search(t):
            self._end("interrupted", t)
            return None
        if ASSERTION.search(t):
            self._assertion = t
            self._end("failed", t)
            return None
        m = CUDA_ERROR.match(t)
        if m:
            self._cuda_error = f"CUDA ERROR at {m.group(1)}"
            return None
        if NATIVE_ERROR.search(t):  # the process dies with it, unless training goes on
            self._exception = t
            return None
        if SHELL_DEATH.fullmatch(t):
            oom = self._exception if self._exception and OOM.search(self._exception) else None
            self._end("failed", self._assertion or oom or t)
            return None
        m = WORKER_SIGNAL.search(t)
        if m and (self._exception is None or "ChildFailedError" in self._exception):
            self._exception = m.group(0)
            return None
        if t.startswith("Exception ignored in"):
            # Python's report of an error in a __del__ or a callback, which it ignored: the
            # traceback under it ends nothing
            self._ignoring = True
            return "traceback"
        if t == TRACEBACK:
            self._in_traceback, self._frame_source = True, False
            return "traceback"
        if not self._in_traceback and t.startswith(_FRAME) and self._exception is not None:
            # a frame after the traceback seemed over: ranks of one launch print theirs
            # interleaved (never a command line naming a script: no new launch); its
            # indented source line is skipped with the traceback's
            self._in_traceback, self._frame_source = True, False
            return "traceback"
        if pending_ending(t):
            # the most telling line wins: an OOM message over the 'Killed' after it, and a
            # traceback's own exception line over a sentence saying 'runs out of memory'
            if self._exception is None or not OOM.search(self._exception) \
                    or self._in_traceback:
                self._exception = t
            self._in_traceback = False
            return None
        if self._in_traceback:
            if t.startswith(_TRACE_CONT):
                return "traceback"
            if t.startswith(_FRAME) or self._frame_source:
                # a frame, or its source line, pasted without the indentation
                self._frame_source = t.startswith(_FRAME)
                return "traceback"
            self._in_traceback = False
            if EXCEPTION.match(t):
                # torchrun's own ChildFailedError says only that a worker died: the worker's
                # exception before it is the cause
                self.launcher_failed = self.launcher_failed or "ChildFailedError" in t
                if self._ignoring:
                    self._ignoring = False
                elif "ChildFailedError" not in t or self._exception in (None, CUT_TRACEBACK):
                    self._exception = t
                return "traceback"
            if self._exception is None:  # cut before its exception line (a short paste)
                self._exception = CUT_TRACEBACK
        if t.startswith(_TRACE_CONT):
            return "traceback"
        return False

    def _between_runs(self, t: str) -> str | None:
        """Launches, commands, parameter counts, banners, warnings: None (parsed) or the
        reason the line is skipped."""
        if (self._exception is not None and (not self._ended or self._new_run is not None)
                and COMMAND.search(t) and not _PY_WARNING.match(t)
                and not _LAUNCHER_REPORT.search(t)):
            self._launch_failed()  # and the command is read below as the next run's
        elif self.segment >= 0 and is_launch(t):
            self.header_line()  # the next data (or error) is another launch's
        n = param_count(t)
        if n is not None and self.segment >= 0:  # after data: perhaps the next run's
            self._banner_params = n
        if n is not None and self.segment < 0:  # a parameter count before any data
            if self.header.model.get("n_params") is None:
                # (not a header line by itself: a log with nothing else is no run)
                self.header.model["n_params"] = n
            return None
        if is_command(t):
            self._command_line(t)
            return None
        if _PY_WARNING.match(t) or t.lower().startswith(("warning", "warnings.warn")):
            return "warning"
        if is_elision(t):
            return "elision"
        if self.segment >= 0 and (looks_like_run_header(t) or paste_break(t)):
            # perhaps the next run's banner: decided by the next step (see _data)
            self._banner = True
            self._last_iter_text = None  # the same line after it is a new run's step
        return "unrecognised"
