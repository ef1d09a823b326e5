"""Follow the files under a logs root as they are written, for every browser session at once.

One ``LiveRegistry`` per logs root lives for the whole server process (the dashboard keeps it
in ``st.cache_resource``). It owns

- a watchdog observer on the root that marks files *dirty* when bytes are appended (and the
  listing stale when files appear or go);
- one analyzer ``Follower`` per file, which reads only the bytes appended since its last
  poll, so a page refresh every second costs a ``stat``-free dictionary lookup when nothing
  changed and a read of the new lines when something did;
- small per-file memos (summaries, chart series, findings) that are dropped when the file's
  version changes, so browser ticks on an unchanged run cost almost nothing.

If the observer cannot start (no inotify watches left, an odd filesystem), files are checked
with ``stat`` on every refresh instead; a watched file is also ``stat``-checked every few
seconds in case an event was missed. Nothing here imports Streamlit.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from app.paths import is_inside


def _default_follower(path: Path) -> Any:
    from analyzer.reread import follower  # imported late: the analyzer imports pandas
    return follower(path)  # a Follower, or a Rereader for a folder read whole (TensorBoard)


@dataclass
class Tracked:
    """One followed file and what was derived from its current version."""
    path: Path
    follower: Any = None
    snapshot: Any = None        # the Run after the last good poll (never changes after)
    lock: threading.Lock = field(default_factory=threading.Lock)
    version: int = 0            # bumped whenever new events arrive or the file was reset
    polled_at: float = 0.0      # monotonic time of the last poll
    stat_key: tuple = ()        # (inode, size, mtime_ns) at the last poll
    error: str | None = None    # why the last poll failed, shown in the run's panel
    memo: dict = field(default_factory=dict)   # derived data of the current version
    findings: list | None = None
    findings_version: int = -1
    findings_at: float = 0.0
    findings_cost_s: float = 0.0
    findings_error: str | None = None
    _job: threading.Thread | None = None     # the background diagnostics pass, if running

    @property
    def run(self) -> Any:
        """The analyzer's Run for what was read so far (None before the format is known).

        A snapshot taken after each poll: the follower's tables only ever grow and a Run is
        a view of them, so a page can draw it while another session polls.
        """
        return self.snapshot

    def update_findings(self, analyse: Callable[[Any], list], live: bool,
                        min_interval_s: float = 1.0) -> None:
        """Bring the findings up to date with the current version.

        A diagnostic pass over a million iterations takes seconds. While a run is being
        written the pass runs in a background thread, at most every
        ``max(min_interval_s, 5 x its cost)`` seconds, and the page shows the last result
        meanwhile, so the charts keep ticking. Once the run stops, the last version is
        analysed before returning.
        """
        run, version = self.run, self.version
        job = self._job
        if job is not None and job.is_alive():
            if live:
                return
            job.join()
        if run is None or self.findings_version == version:
            return
        wait = max(min_interval_s, 5.0 * self.findings_cost_s)
        if live and self.findings is not None and time.monotonic() - self.findings_at < wait:
            return
        if live:
            self._job = threading.Thread(target=self._analyse, args=(analyse, run, version),
                                         daemon=True, name=f"findings {self.path.name}")
            self._job.start()
        else:
            self._analyse(analyse, run, version)

    def _analyse(self, analyse: Callable[[Any], list], run: Any, version: int) -> None:
        start = time.monotonic()
        try:
            findings, error = list(analyse(run)), None
        except Exception as e:  # a diagnostic bug must not take the page down
            findings, error = self.findings or [], f"diagnostics failed: {type(e).__name__}: {e}"
        self.findings, self.findings_error = findings, error
        self.findings_cost_s = time.monotonic() - start
        self.findings_at = time.monotonic()
        self.findings_version = version

    def cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per file version and key."""
        k = (self.version, key)
        if k not in self.memo:
            if len(self.memo) > 64:  # slider sweeps on a finished run: keep memory bounded
                self.memo.clear()
            self.memo[k] = compute()
        return self.memo[k]


class LiveRegistry:
    """Followers and a watchdog observer for one logs root (shared by all sessions)."""

    def __init__(self, root: Path, follower_factory: Callable[[Path], Any] | None = None,
                 watch: bool = True, safety_poll_s: float = 5.0):
        self.root = Path(root).resolve()
        self.follower_factory = follower_factory or _default_follower
        self.safety_poll_s = safety_poll_s
        self._tracked: dict[Path, Tracked] = {}
        self._dirty: set[Path] = set()
        self._lock = threading.Lock()
        self.listing_version = 0
        # (watchdog's listing version, when, the Discovery, the root folder's _dir_key)
        self._listing: tuple[int, float, Any, tuple] | None = None
        self._touched: set[Path] = set()    # files written since the listing was taken
        self._to_load: list[Path] = []     # files the loader thread reads next, in order
        self._loader: threading.Thread | None = None
        self.observer: Any = None
        self.watch_error: str | None = None
        if watch:
            self._start_observer()

    # -- watchdog -----------------------------------------------------------------------
    def _start_observer(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError as e:  # pragma: no cover - watchdog is a dependency
            self.watch_error = f"watchdog unavailable ({e}); checking files by polling"
            return
        registry = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                registry._on_event(event)

        try:
            self.root.mkdir(parents=True, exist_ok=True)
            observer = Observer()
            observer.daemon = True
            observer.schedule(Handler(), str(self.root), recursive=True)
            observer.start()
            self.observer = observer
        except OSError as e:
            self.watch_error = f"cannot watch {self.root} ({e}); checking files by polling"

    def _on_event(self, event: Any) -> None:
        kind = getattr(event, "event_type", "")
        if kind in ("opened", "closed_no_write"):
            return  # reads (ours included) are not changes
        paths = [getattr(event, "src_path", ""), getattr(event, "dest_path", "")]
        with self._lock:
            for p in paths:
                if p:
                    path = Path(os.fsdecode(p))
                    self._dirty.add(path)
                    self._dirty.add(path.parent)  # a folder that is a run
                    self._touched.update((path, path.parent))
            # a folder "modified" event only says a file in it was written: no new run
            if kind in ("created", "deleted", "moved"):
                self.listing_version += 1

    def listing(self, walk: Callable[[], Any], max_age_s: float = 30.0) -> Any:
        """The run listing (``walk()``: an app.discovery.Discovery), walked again only when
        files appeared, went or moved (watchdog says so), when the root folder itself
        changed (one ``stat``), or every ``max_age_s`` in case an event was missed; without
        watchdog, on every call. Between walks only the files written since are stat-ed
        again (for their "updated" time and the newest-first order), so a refresh of a root
        of 1,000 runs does not stat 1,000 files.

        Watchdog's events arrive from its own threads, a few milliseconds after the write
        (longer on a busy machine): a run folder or log created at the top of the root,
        where a trainer puts its runs, changes the root's modification time and link count
        at once, so the next listing after the write shows it, whatever the event's delay.
        """
        with self._lock:
            version = self.listing_version
            touched, self._touched = self._touched, set()
        root_key = _dir_key(self.root)      # before the walk: a change during it walks again
        cached = self._listing
        if (cached is None or not self.watching or cached[0] != version
                or cached[3] != root_key or time.monotonic() - cached[1] > max_age_s):
            disc = walk()
            self._listing = (version, time.monotonic(), disc, root_key)
            return disc
        disc = cached[2]
        if touched and any(r.path in touched for r in disc.runs):
            runs = [_restat(r) if r.path in touched else r for r in disc.runs]
            runs.sort(key=lambda r: (-r.mtime, r.name))
            disc = replace(disc, runs=runs)
            self._listing = (version, cached[1], disc, root_key)
        return disc

    def relist(self) -> None:
        """Walk the root again on the next listing (the app itself added or removed a file:
        no need to wait for watchdog's event)."""
        self._listing = None

    @property
    def watching(self) -> bool:
        return self.observer is not None and self.observer.is_alive()

    def stop(self) -> None:
        with self._lock:
            self._to_load = []   # the loader thread ends after the file it is reading
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
            self.observer = None

    # -- followers ----------------------------------------------------------------------
    def tracked(self, path: Path) -> Tracked:
        """The Tracked entry of a file inside the root (created on first use, no I/O)."""
        path = Path(path)
        if not is_inside(path.resolve(), self.root):
            raise ValueError(f"{path} is outside the logs root {self.root}")
        with self._lock:
            t = self._tracked.get(path)
            if t is None:
                t = self._tracked[path] = Tracked(path)
                self._dirty.add(path)
            return t

    def loaded(self, path: Path) -> bool:
        """Has this file been read at least once (its follower exists)? No I/O."""
        t = self._tracked.get(Path(path))
        return t is not None and t.follower is not None

    def preload(self, paths: list[Path]) -> None:
        """Read these files for the first time in a background thread, in this order.

        A first read costs ~50 ms per 10,000 iterations: a root of 1,000 runs would hold
        the run list's tick for seconds. The tick shows what is read and asks for the
        rest here; the list replaces any earlier one (the newest runs come first)."""
        todo = [Path(p) for p in paths if not self.loaded(p)]
        with self._lock:
            self._to_load = todo
            if not todo or self._loader is not None:
                return  # the running loader takes the new list
            self._loader = threading.Thread(target=self._load_loop, daemon=True,
                                            name="gptscope preload")
            self._loader.start()

    def loading(self) -> bool:
        """Is the loader thread still reading files asked for by ``preload``?"""
        return self._loader is not None

    def _load_loop(self) -> None:
        while True:
            with self._lock:
                if not self._to_load:
                    self._loader = None  # under the lock: preload starts a new one
                    return
                path = self._to_load.pop(0)
            if not self.loaded(path):
                self.refresh(path)
            time.sleep(0)   # let a script run that waits for the GIL go first

    def refresh(self, path: Path) -> Tracked:
        """Read what was appended to ``path`` since the last refresh, if anything was."""
        t = self.tracked(path)
        with t.lock:
            if self._needs_poll(t):
                self._poll(t)
        return t

    def _needs_poll(self, t: Tracked) -> bool:
        with self._lock:
            dirty = t.path in self._dirty
            self._dirty.discard(t.path)
        if dirty or t.follower is None:
            return True
        if self.watching and time.monotonic() - t.polled_at < self.safety_poll_s:
            return False
        return _stat_key(t.path) != t.stat_key

    def _poll(self, t: Tracked) -> None:
        t.polled_at = time.monotonic()
        t.stat_key = _stat_key(t.path)
        try:
            if t.follower is None:
                t.follower = self.follower_factory(t.path)
            up = t.follower.poll()
        except Exception as e:  # a broken file must not break the page: say what happened
            t.error = f"{t.path.name}: cannot read ({type(e).__name__}: {e})"
            return
        if getattr(up, "missing", False):
            # keep what was read on screen, and say why it stopped moving
            t.error = f"{t.path.name}: the file is gone (deleted or moved)"
            return
        t.error = getattr(up, "error", None)
        if getattr(up, "reset", False) or len(getattr(up, "new_events", ())) or t.version == 0:
            t.snapshot = t.follower.run
            t.version += 1
            t.memo.clear()


def _restat(rf: Any) -> Any:
    """A listed run with its file's current modification time and size."""
    try:
        st = rf.path.stat()
    except OSError:
        return rf
    return replace(rf, mtime=st.st_mtime, size=st.st_size)


def _dir_key(path: Path) -> tuple:
    """What changes when an entry is created, removed or renamed in a folder."""
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_ino, st.st_mtime_ns, st.st_nlink)


def _stat_key(path: Path) -> tuple:
    try:
        st = path.stat()
    except OSError:
        return ()
    return (st.st_ino, st.st_size, st.st_mtime_ns)
