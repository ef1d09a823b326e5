"""The generic reader's clocks: a step time from a cumulative clock printed beside a running
step average, or from the timestamps of a log that times nothing else (see generic.py)."""
from __future__ import annotations

from analyzer.parsers._text import line_stamp


GROWN_LINES = 8  # lines of a step time that only grew before it is read as a clock
# ... or fewer, when it is in whole seconds and keeps to the step counter as a clock started
# with the training does (OpenNMT-py's '… 1320/1445 tok/s;  19995 sec' at Step 5350, 20179
# sec at 5400: 3.7 s a step both ways). A step's own time that grew for a few lines can keep
# to the counter by chance ('iter time: 242.43ms' at iter 470, 0.5 ms more each line): one
# printed to the millisecond is never taken for a clock this way
SINCE_START_LINES = 4


class Clocks:
    """Methods of generic.Parser (a StdoutParser) that turn clocks into step times; the
    state they use (``_clock``, ``_clocked``, ``_stamp``...) is set up by its __init__."""

    def _clock_or_time(self, step: int, f: dict[str, float | None]) -> dict[str, float | None]:
        """A 'time' beside a running step average: the cumulative clock when far above the
        average (1.5 times: from step 2 on, a clock is at least twice it), once the log has
        shown one, or at steps 0 and 1 (where the two agree); then the step time is the
        clock's difference (never the clock). Else it is the step's own time."""
        clock, avg = f.pop("clock_ms"), f.get("step_avg_ms")
        far = avg is None or not clock < 1.5 * avg  # (an average of 'nan': no telling)
        if not (far or self._clocked or step <= 1):
            return dict(f, dt_ms=clock)
        self._clocked = self._clocked or (far and step > 1)
        self._data(step, "eval" if "val_loss" in f and "loss" not in f else "iter")
        train = "loss" in f or "val_loss" not in f
        prev = self._clock
        ms = self._clock_step(step, clock, train)
        dt = f.get("dt_ms")
        if ms is not None and dt is not None and prev is not None and step - prev[0] > 1 \
                and abs(dt - ms * (step - prev[0])) <= 0.1 * dt:
            # a 'dt' the clock says is the whole interval's ('dt: 44342.49 ms' beside 'elapsed
            # time' 0.74 min on, every 10 steps): per step, as every step time here is
            f = dict(f, dt_ms=dt / (step - prev[0]))
        return dict(f, clock_ms=clock, step_ms=ms)

    def _grown_clock(self, step: int, f: dict[str, float | None]) -> bool:
        """A step time that only grows, line after line ('iter 0 | … | 23s', 'iter 50 | … |
        29s', 36s, 42s, … : seconds since the start): after GROWN_LINES lines rising to 3x
        the first, or SINCE_START_LINES lines each about its step times the growth per step,
        by about as much per step each time, it is a clock, read as one from then on
        (``clock_ms``: _clock_or_time takes its differences); its rows still in this block
        are retimed."""
        dt = f.get("dt_ms")
        if dt is None or "val_loss" in f or not dt > 0:
            return False
        if self._clocked and self._grown:  # (a clock found this way: every later line)
            f["clock_ms"] = f.pop("dt_ms")
            return True
        seen = self._grown
        if seen and (step <= seen[-1][0] or dt <= seen[-1][1]):
            seen.clear()
        seen.append((step, dt))
        del seen[:-4 * GROWN_LINES]  # (bounded work on a step time that keeps rising)
        if len(seen) < SINCE_START_LINES:
            return False
        rates = {s: (b - a) / (s - r) for (r, a), (s, b) in zip(seen, seen[1:])}
        mid = sorted(rates.values())[len(rates) // 2]  # a clock grows by about one step
        if sum(mid / 2 <= x <= 2 * mid for x in rates.values()) < 0.75 * len(rates):
            return False  # time per step (more over an eval)
        grown = len(seen) >= GROWN_LINES and seen[-1][1] >= 3 * seen[0][1]
        if not (grown or all(t % 1000 == 0 and (s == 0 or mid / 2 <= t / s <= 2 * mid)
                             for s, t in seen)):
            return False
        self._clocked, self._clock = True, seen[-2]
        clock = dict(seen[:-1])
        for e in self._out:  # (the first has no step time: its time since the start is none)
            if e.get("type") == "iter" and e.get("step") in clock and e.get("dt_ms"):
                e["dt_ms"], e["step_ms"] = None, rates.get(e["step"])
                e["time"] = clock[e["step"]] / 1000.0
        self.elapsed = self._clock[1] / 1000.0
        f["clock_ms"] = f.pop("dt_ms")
        return True

    def _clock_step(self, step: int, clock: float, train: bool) -> float | None:
        """One step's time from a cumulative clock: its difference to the last timed line's
        over the steps between (a log may print every Nth step); at step 1, the clock itself.
        An eval line at the step of the training line before it moves nothing (its clock
        ran on for the eval); the clock going back (a new run's) gives no time."""
        prev = self._clock
        ms = None
        if prev is not None and step > prev[0] and clock >= prev[1]:
            ms = (clock - prev[1]) / (step - prev[0])
        elif prev is None and step == 1:
            ms = clock
        if train or prev is None or step > prev[0]:
            self._clock = (step, clock)
        return ms

    def _stamp_ms(self, step: int) -> float | None:
        """An untimed training line's step time from the timestamps of the log's lines
        ('2026-05-27 00:56:11,576 - INFO - Epoch 1, Step 500, Loss: 4.5514' every 100
        steps): the time since the last stamped training line over the steps between. None
        over an interval that holds an eval or a checkpoint, or that is short against the
        stamps' resolution (under 10 of their units: whole seconds give a time only over
        10 s or more, each interval within 10%), and for good once the stamps stood still
        while steps advanced."""
        got = None if self._stamps_off else line_stamp(self.raw_line)
        if got is None:
            return None
        (now, resolution), prev = got, self._stamp
        dirty, self._stamp_dirty = self._stamp_dirty, False
        self._stamp_read = (step, now)
        if prev is None or self._new_run is not None or step <= prev[0] or now < prev[1]:
            return None
        span = now - prev[1]
        if span == 0:
            self._stamps_off = True
            return None
        if dirty or span < 10 * resolution:
            return None
        return span / (step - prev[0]) * 1000.0
