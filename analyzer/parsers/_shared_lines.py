"""Lines every stdout format shares, whatever else it prints: endings (tracebacks, signals,
native errors, a shell's report of a death), launches and commands, parameter counts, banners
and warnings. A mixin of StdoutParser (analyzer/parsers/_stdout.py), whose state it reads and
sets: what one of these lines means depends on what came before it (an error, then a command:
the launch before it failed)."""
from __future__ import annotations

import re

from analyzer.parsers._banner import (ARG, COMMAND, is_command, is_launch,
                                      looks_like_run_header, param_count, paste_break)
from analyzer.parsers._endings import (ASSERTION, CUDA_ERROR, EXCEPTION, INTERRUPT,
                                       NATIVE_ERROR, OOM, SHELL_DEATH, SIGNAL, SLURM_CANCEL,
                                       SUCCESS, TRACEBACK, WORKER_SIGNAL,
                                       ending_status, pending_ending)
from analyzer.parsers._header import Header, device_type
from analyzer.parsers._text import MAX_LINE, clean_line, is_elision, literal

# torchrun's report on the launch that failed names the script, but starts nothing: 'failed
# (exitcode: 1) local_rank: 0 (pid: 3643914) of binary: /usr/bin/python3', 'train_gpt.py FAILED'
# a script's early stop at the loss it aimed for ('🎉 Target loss achieved at step 3533!',
# '✓ Target loss < 0.99 achieved at step 1680!'): the run completed there, perhaps after its
# last logged step (a script logging every 100 steps checks the target at each)
_TARGET_REACHED = re.compile(r"\btarget\b.{0,40}?\b(?:achieved|reached)\b.{0,20}?"
                             r"\bat (?:step|iter|iteration) (\d+)\b", re.IGNORECASE)
_LAUNCHER_REPORT = re.compile(r"\bFAILED\s*$|\bfailed \(exitcode: |\bexitcode\s*: ")
_PY_WARNING = re.compile(r"\S+\.py:\d+: \w*Warning: |\w*Warning: ")
# a traceback's frame, perhaps glued to another rank's code line ('pretrain(…,  File
# "/x/pretrain_gpt.py", line 276, in <module>'): its script's name is no launch's command
_FRAME_ANYWHERE = re.compile(r'File "[^"]*", line \d+')
_FRAME = 'File "'
CUT_TRACEBACK = "a Python traceback (its exception line is not in the log)"
# the exceptions that only say a worker died (torchrun's ChildFailedError; the bare 'Exception:'
# of torch.multiprocessing.spawn, its message '-- Process 3 terminated with the following
# error:' and the worker's traceback on the lines after): an error before them is the cause
_WRAPPER = re.compile(r".*ChildFailedError|Exception:?\s*$")
# IPython's traceback (a notebook cell's output) names its exception in its first line:
# 'KeyboardInterrupt                         Traceback (most recent call last)'
_IPYTHON_TRACEBACK = re.compile(r"([A-Za-z_][\w.]*)\s+Traceback \(most recent call last\)$")
_TRACE_CONT = ("During handling of the above exception", "The above exception was the direct",
               "--- Logging error ---", "Call stack:", "Message: ", "Arguments: ")


# a line saying the run resumes, in a trainer's or a note's words ('# resumed at
# 2026-05-30T03:52:09 from step 10001', 'INFO: Resuming training from step 5000'): the step
RESUMED = re.compile(r"\bresum(?:ed|ing)\b.{0,60}?\bfrom (?:step|iter(?:ation)?)\s*[:=#]?\s*"
                     r"(\d+)\b", re.IGNORECASE)


# a float16 loss scaler skipping a step: DeepSpeed's (and ColossalAI's) '[deepspeed] OVERFLOW!
# Rank 0 Skipping step. Attempted loss scale: 65536, reducing to 32768', apex's and Megatron's
# 'Gradient overflow.  Skipping step, loss scaler 0 reducing loss scale to 32768.0'
_NUM = r"(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
# fairseq's 'NOTE: gradient overflow detected, ignoring gradient, setting loss scale to: 2.0'
LOSS_SCALE_DROP = re.compile(r"overflow.{0,80}?(?:attempted loss scale:\s*" + _NUM + r",\s*"
                             r"reducing to|reducing loss scale to|setting loss scale to:?)\s*"
                             + _NUM, re.IGNORECASE)


def loss_scale_drop(text: str) -> re.Match | None:
    """LOSS_SCALE_DROP's match in a line, looked for only where 'overflow' is (any line may
    ask, glued after a step's bar too)."""
    if "verflow" not in text and "VERFLOW" not in text:
        return None
    return LOSS_SCALE_DROP.search(text)


def _refines(before: int, count: int) -> bool:
    """A count that states a rounded one before it exactly (makemore's 'number of
    parameters: 0.20M', then 'model #params: 204544'): more digits, within the rounding."""
    digits = len(str(before).rstrip("0"))
    return len(str(count).rstrip("0")) > digits and abs(count - before) <= 0.05 * count


class SharedLines:
    """The shared lines' reading, for StdoutParser (see the module docstring)."""

    def _loss_scale(self, text: str) -> None:
        """An fp16 overflow that made the loss scaler skip a step: its scale before (when
        printed) and after, as 'loss_scale' metrics at the last step read, the evidence the
        NaN and spike findings look for (diagnostics.causes.fp16_evidence)."""
        m = loss_scale_drop(text)
        if m is None or self.segment < 0:
            return
        for value in m.groups():
            if value is not None:
                self.metric(self.last_iter_step, "loss_scale", float(value))

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
        if reason is False and loss_scale_drop(t) is not None:
            return None  # read: its loss_scale metrics (see _loss_scale)
        return self._between_runs(t) if reason is False else reason

    def _ending_line(self, t: str) -> str | None | bool:
        """Endings and tracebacks: None (an ending, parsed), a skip reason, or False (none
        of these)."""
        if self._ipython_error is not None or _IPYTHON_TRACEBACK.match(t):
            return self._ipython_line(t)
        if SLURM_CANCEL.search(t) or SIGNAL.search(t):
            if self._signal_end and SLURM_CANCEL.search(t):
                # the scheduler's own line after the signal it sent ('srun: Job step
                # aborted', then '*** STEP 1809655.0 ON r6i4n3 CANCELLED AT … DUE TO TIME
                # LIMIT ***'): it says why; its run_end replaces the signal's
                self._ended = False
            self._end("interrupted", t)
            self._signal_end = SLURM_CANCEL.search(t) is None
            return None
        m = _TARGET_REACHED.search(t)
        if m and self.last_iter_step is not None and int(m.group(1)) >= self.last_iter_step:
            self._end("completed", None, int(m.group(1)))
            return None
        if ASSERTION.search(t):
            self._assertion = t
            self._end("failed", t)
            return None
        m = CUDA_ERROR.match(t)
        if m:
            self._cuda_error = f"{m.group(1)} ERROR at {m.group(2)}"
            return None
        if NATIVE_ERROR.search(t):  # the process dies with it, unless training goes on
            self._exception = t
            return None
        if SHELL_DEATH.fullmatch(t):
            oom = self._exception if self._exception and OOM.search(self._exception) else None
            self._end("failed", self._assertion or oom or t)
            return None
        if t.startswith("Root Cause (first observed failure)"):
            self._root_cause = True  # torchrun names the worker that failed first below
            return None
        m = WORKER_SIGNAL.search(t)
        # the first signal of torchrun's report, unless its root cause names another: the
        # workers listed before it may only have got the agent's own SIGTERM ('Sending
        # process 1005483 closing signal SIGTERM') after one aborted (SIGABRT)
        if m and (self._exception is None or "ChildFailedError" in self._exception or (
                self._root_cause and WORKER_SIGNAL.fullmatch(self._exception))):
            self._exception, self._root_cause = m.group(0), False
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
                self._exception_line(t)
                return "traceback"
            if self._exception is None:  # cut before its exception line (a short paste)
                self._exception = CUT_TRACEBACK
        if t.startswith(_TRACE_CONT):
            return "traceback"
        return False

    def _in_logged_traceback(self, text: str) -> bool:
        """A line of a traceback that glog logged as a warning or info (torch.compile's
        'WON'T CONVERT … due to:' and the traceback of why, then eager mode goes on): part of
        a note, never the error that ended the run. Its other lines (torch elastic's
        'Received 15 death signal' is a warning too) are read as any other."""
        t = text.strip()
        if t == TRACEBACK:
            self._note_traceback = True
        elif self._note_traceback and not text[:1].isspace() and not t.startswith(_FRAME) \
                and EXCEPTION.match(t):
            self._note_traceback = False  # its exception line, the last
            return True
        return self._note_traceback

    def _exception_line(self, t: str) -> None:
        """A traceback's last line, the exception."""
        # torchrun's own ChildFailedError says only that a worker died: the worker's
        # exception before it is the cause
        self.launcher_failed = self.launcher_failed or "ChildFailedError" in t
        if self._ignoring:
            self._ignoring = False
        elif self._exception is not None and INTERRUPT.search(self._exception):
            # a Ctrl-C stopped the run: what fails after it comes from the shutdown it
            # started (DeepSpeed's launcher's NameError in its own sigkill_handler)
            return
        elif not _WRAPPER.match(t) or self._exception in (None, CUT_TRACEBACK):
            self._exception = t

    def _ipython_line(self, t: str) -> str:
        """A line of IPython's traceback: its header, frames ('Cell In[5], line 3', 'File
        ~/x.py:12, in f()', '/tmp/ipykernel_1154/8798.py in <cell line: 0>()') and numbered
        source lines ('---> 13 train()'), up to its exception's own line ('KeyboardInterrupt: ',
        'torch._dynamo.exc.BackendCompilerFailed: …' under 'BackendCompilerFailed')."""
        m = _IPYTHON_TRACEBACK.match(t)
        if m is not None:
            self._ipython_error = m.group(1)
            self._in_traceback, self._frame_source = True, False
            return "traceback"
        name = self._ipython_error
        head = t.split(":", 1)[0]
        if EXCEPTION.match(t) and (head == name or head.endswith("." + name)):
            self._ipython_error, self._in_traceback = None, False
            self._exception_line(t)
        return "traceback"

    def _late_params(self) -> None:
        """A parameter count printed after the run's last data, with no run after it (an
        author's summary line, '模型参数总量: 10,738,229'): the run's, when it has none."""
        n, self._banner_params = self._banner_params, None
        if n is None or self.segment < 0 or self._exception is not None or self._launched:
            return  # (a launch or an error after the data: the count is that launch's)
        if self.seg_header.model.get("n_params") is None:
            self.seg_header.model["n_params"] = n
            step = self.last_iter_step if self.last_iter_step is not None else self.last_eval_step
            self._emit("metric", step, name="n_params", value=float(n))

    def _failed_after_completion(self) -> bool:
        """An error after the run completed: the script died in what it does after training
        (a final eval, an export, a sweep's bookkeeping), so the run ended failed after all,
        at the step it had completed; a Ctrl-C there (stopping the samples printed after
        training) interrupts no training, and the run stays completed. True if so."""
        if self._completed_at is None or not self._ended or self._exception is None:
            return False
        error, step = self._exception, self._completed_at
        self._exception = None
        if INTERRUPT.search(error):  # the user's Ctrl-C
            return True
        self._ended = False
        self._end(ending_status(error), error, step)
        return True

    def _at_final_eval(self) -> bool:
        """The run's last data is the final eval of the loop of the 'Let's build GPT' lecture
        and its copies, which evaluates every eval_interval steps and at max_iters - 1, its
        last step ('step 100: …', 'step 199: train loss 2.7858, val loss 2.7938'): an eval one
        step short of the grid of the evals before it, no iteration after it."""
        if len(self._eval_steps) < 3:
            return False
        a, b, c = self._eval_steps
        interval = b - a
        return (interval >= 2 and a % interval == 0 and c == b + interval - 1
                and (self.last_iter_step is None or self.last_iter_step <= c))

    def _between_runs(self, t: str) -> str | None:
        """Launches, commands, resumes, parameter counts, banners, warnings: None (parsed) or
        the reason the line is skipped."""
        if self.segment >= 0 and RESUMED.search(t):
            self.resume_marker(None)  # the steps that follow continue the run
            return None
        if (self._exception is not None and (not self._ended or self._new_run is not None)
                and COMMAND.search(t) and not _PY_WARNING.match(t)
                and not _LAUNCHER_REPORT.search(t) and not _FRAME_ANYWHERE.search(t)):
            self._launch_failed()  # and the command is read below as the next run's
        elif self.segment >= 0 and is_launch(t):
            self.header_line()  # the next data (or error) is another launch's
            self._launched = True
        n = param_count(t)
        if n is not None and self.segment >= 0:  # after data: perhaps the next run's
            self._banner_params = n
        if n is not None and self.segment < 0:  # a parameter count before any data
            if self.header.model.get("n_params") is None \
                    or _refines(self.header.model["n_params"], n):
                # (not a header line by itself: a log with nothing else is no run)
                self.header.model["n_params"] = n
            return None
        if is_command(t):
            self._command_line(t)
            self._launched = self.segment >= 0
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

    def _backwards(self, step: int, kind: str) -> bool:
        it, ev = self.last_iter_step, self.last_eval_step
        if kind == "iter":
            return (it is not None and step <= it) or (ev is not None and step < ev)
        # an eval may carry the step of the iteration printed just before it: formats that
        # number a step by the steps done (llm.c, modded-nanogpt) evaluate after it
        return (it is not None and step < it) or (ev is not None and step <= ev)

    def _repeats_recent(self, text: str) -> bool:
        """Is ``text`` one of the last REDRAW_WINDOW iteration lines, to the character?"""
        if text in self._recent:
            return True
        bulk = self._recent_bulk() if self._recent_bulk is not None else []
        return any(clean_line(raw)[:MAX_LINE] == text for raw in bulk)

    def _read_after_held(self) -> None:
        lines, self._after_held = self._after_held, []
        for text, lineno in lines:
            self._read(text, lineno)
