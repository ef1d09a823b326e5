"""The registry follows files through watchdog and polls a file only when it changed."""
from __future__ import annotations

import os
import time

import pytest

from analyzer.follow import Follower
from app.live import LiveRegistry
from tests.app import _runs as R


class CountingFollower:
    """Wraps the analyzer's real follower and counts its polls."""
    polls = 0

    def __init__(self, path):
        self.inner = Follower(path)

    def poll(self):
        CountingFollower.polls += 1
        return self.inner.poll()

    @property
    def run(self):
        return self.inner.run


def _wait(cond, timeout=30.0):
    """Until ``cond()`` holds, at most ``timeout`` s: watchdog's events come from its own
    threads, in milliseconds on a quiet machine and later on a busy one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture
def registry(tmp_path):
    CountingFollower.polls = 0
    reg = LiveRegistry(tmp_path, follower_factory=CountingFollower, safety_poll_s=60.0)
    yield reg
    reg.stop()


def _seen_events(registry) -> list[tuple[str, str]]:
    """(event type, path) of every watchdog event the registry gets from now on."""
    seen, real = [], registry._on_event

    def on_event(event):
        seen.append((event.event_type, os.fsdecode(event.src_path)))
        real(event)
    registry._on_event = on_event   # the observer's handler looks it up at each event
    return seen


def test_watchdog_marks_appends_and_only_then_polls(registry, tmp_path):
    seen = _seen_events(registry)
    # in the watched root itself: inotify reports a file in a folder made a moment ago only
    # once watchdog watches that folder, so its "closed" event may never come
    path = R.write(tmp_path / "events.jsonl", R.events("r", 10))
    # the write's last event (the file closed) has come: no late one marks it again
    assert _wait(lambda: ("closed", str(path)) in seen)
    t = registry.refresh(path)
    assert registry.watching
    assert len(t.run.iters) == 10 and t.version == 1
    polls = CountingFollower.polls
    for _ in range(5):                     # browser ticks with nothing new: no poll at all
        assert registry.refresh(path).version == 1
    assert CountingFollower.polls == polls
    R.write(path, [R.it("r", 10, 1.0), R.it("r", 11, 1.0)], mode="a")
    assert _wait(lambda: path in registry._dirty), "watchdog did not report the append"
    t = registry.refresh(path)
    assert len(t.run.iters) == 12 and t.version == 2
    assert CountingFollower.polls == polls + 1


def test_memo_is_per_version(registry, tmp_path):
    path = R.write(tmp_path / "events.jsonl", R.events("r", 5))
    t = registry.refresh(path)
    calls = []
    assert t.cached("k", lambda: calls.append(1) or len(t.run.iters)) == 5
    assert t.cached("k", lambda: calls.append(1) or -1) == 5 and len(calls) == 1
    R.write(path, [R.it("r", 5, 1.0)], mode="a")
    _wait(lambda: path in registry._dirty)
    t = registry.refresh(path)
    assert t.cached("k", lambda: len(t.run.iters)) == 6


def test_without_watchdog_changes_are_found_by_stat(tmp_path):
    reg = LiveRegistry(tmp_path, watch=False)
    path = R.write(tmp_path / "events.jsonl", R.events("r", 3))
    assert len(reg.refresh(path).run.iters) == 3 and not reg.watching
    R.write(path, [R.it("r", 3, 1.0)], mode="a")
    assert len(reg.refresh(path).run.iters) == 4


def test_a_vanishing_file_is_an_error_message_not_an_exception(registry, tmp_path):
    path = R.write(tmp_path / "events.jsonl", R.events("r", 3))
    assert registry.refresh(path).error is None
    path.unlink()
    _wait(lambda: path in registry._dirty)
    t = registry.refresh(path)
    assert t.error == "events.jsonl: the file is gone (deleted or moved)"
    assert len(t.run.iters) == 3       # what was read stays on screen


def test_a_broken_follower_is_an_error_message(tmp_path):
    class Broken:
        def __init__(self, path):
            pass

        def poll(self):
            raise ValueError("line 3: not JSON")

    reg = LiveRegistry(tmp_path, follower_factory=Broken, watch=False)
    path = R.write(tmp_path / "events.jsonl", R.events("r", 3))
    t = reg.refresh(path)
    assert t.error == "events.jsonl: cannot read (ValueError: line 3: not JSON)"
    assert t.run is None


def test_files_outside_the_root_are_refused(registry, tmp_path):
    with pytest.raises(ValueError, match="outside the logs root"):
        registry.tracked(tmp_path.parent / "elsewhere.log")


def test_findings_are_in_the_background_throttled_while_live_and_final_when_done(registry, tmp_path):
    path = R.write(tmp_path / "events.jsonl", R.events("r", 3))
    t = registry.refresh(path)
    calls = []

    def analyse(run):
        calls.append(len(run.iters))
        return [len(run.iters)]

    t.update_findings(analyse, live=True)      # live: in a background thread
    assert _wait(lambda: t.findings == [3])
    R.write(path, [R.it("r", 3, 1.0)], mode="a")
    _wait(lambda: path in registry._dirty)
    t = registry.refresh(path)
    t.update_findings(analyse, live=True, min_interval_s=60)   # too soon: skipped
    assert t.findings == [3]
    t.update_findings(analyse, live=False, min_interval_s=60)  # not live: always up to date
    assert t.findings == [4] and calls == [3, 4]
    t.update_findings(analyse, live=False)                     # same version: no rerun
    assert calls == [3, 4]


def test_a_failing_diagnostic_is_reported(registry, tmp_path):
    path = R.write(tmp_path / "events.jsonl", R.events("r", 3))
    t = registry.refresh(path)
    t.update_findings(lambda run: 1 / 0, live=False)
    assert t.findings == [] and "ZeroDivisionError" in t.findings_error


def test_new_files_bump_the_listing(registry, tmp_path):
    before = registry.listing_version
    R.write(tmp_path / "new" / "events.jsonl", R.events("n", 1))
    assert _wait(lambda: registry.listing_version > before)


def test_a_refresh_reads_only_the_appended_bytes(registry, tmp_path, monkeypatch):
    import os
    path = R.write(tmp_path / "events.jsonl", R.events("r", 2000))
    registry.refresh(path)
    read = []
    real_pread = os.pread

    def counting_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", counting_pread)
    size = path.stat().st_size
    R.write(path, [R.it("r", 2000, 1.0)], mode="a")
    appended = path.stat().st_size - size
    _wait(lambda: path in registry._dirty)
    t = registry.refresh(path)
    assert len(t.run.iters) == 2001
    # the appended line, plus two small probes that check the file was not rewritten
    assert appended <= sum(read) <= appended + 2 * 64 and size > 100_000


def test_a_slow_diagnostic_does_not_block_a_live_page(registry, tmp_path):
    import threading
    path = R.write(tmp_path / "events.jsonl", R.events("r", 3))
    t = registry.refresh(path)
    release = threading.Event()

    def slow(run):
        release.wait(10)
        return ["done"]

    start = time.monotonic()
    t.update_findings(slow, live=True)
    assert time.monotonic() - start < 1.0 and t.findings is None   # the page goes on
    t.update_findings(slow, live=True)                             # one pass at a time
    release.set()
    assert _wait(lambda: t.findings == ["done"])


def test_the_listing_is_walked_again_only_when_files_come_or_go(tmp_path):
    from app.discovery import discover
    a = R.write(tmp_path / "a" / "events.jsonl", R.events("a", 5))
    R.write(tmp_path / "b" / "events.jsonl", R.events("b", 5))
    reg = LiveRegistry(tmp_path)
    walks = []

    def walk():
        walks.append(1)
        return discover(tmp_path)
    try:
        assert reg.watching
        first = reg.listing(walk)
        for _ in range(5):                     # refreshes with nothing new: no walk
            assert reg.listing(walk).runs == first.runs
        assert len(walks) == 1
        time.sleep(0.05)
        R.write(a, [R.it("a", 5, 1.0)], mode="a")   # a write: only that file is stat-ed
        assert _wait(lambda: reg.listing(walk).runs[0].name == "a/events.jsonl")
        assert len(walks) == 1 and reg.listing(walk).runs[0].size == a.stat().st_size
        R.write(tmp_path / "c" / "events.jsonl", R.events("c", 5))   # a new run: a walk
        assert _wait(lambda: len(reg.listing(walk).runs) == 3)
        assert len(walks) == 2
    finally:
        reg.stop()


def test_a_new_run_at_the_top_is_listed_without_waiting_for_watchdog(tmp_path):
    from app.discovery import discover
    R.write(tmp_path / "a" / "events.jsonl", R.events("a", 5))
    reg = LiveRegistry(tmp_path)
    try:
        assert reg.watching
        reg._on_event = lambda event: None     # watchdog's events come late (or never)
        assert [r.name for r in reg.listing(lambda: discover(tmp_path)).runs] == [
            "a/events.jsonl"]
        R.write(tmp_path / "b" / "events.jsonl", R.events("b", 5))
        assert [r.name for r in reg.listing(lambda: discover(tmp_path)).runs] == [
            "b/events.jsonl", "a/events.jsonl"]
    finally:
        reg.stop()


def test_preload_reads_listed_runs_in_the_background_in_order(registry, tmp_path):
    paths = [R.write(tmp_path / f"r{i}" / "events.jsonl", R.events(f"r{i}", 5))
             for i in range(4)]
    registry.refresh(paths[1])                    # already read: not read again
    polls = CountingFollower.polls
    order = []
    real = registry.refresh
    registry.refresh = lambda p: order.append(p) or real(p)
    registry.preload(paths)
    assert _wait(lambda: not registry.loading())
    assert order == [paths[0], paths[2], paths[3]]
    assert all(registry.loaded(p) for p in paths)
    assert CountingFollower.polls == polls + 3
    registry.preload(paths)                       # nothing left to read: no thread
    assert not registry.loading()
