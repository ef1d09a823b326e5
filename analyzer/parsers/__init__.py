"""The registry of log formats: one pure parser module per format, chosen by content.

Every parser module has the same small interface, so that ``analyzer.load`` and the
``Follower`` treat all formats alike::

    NAME: str                                  # format name, e.g. 'gptscope', 'nanogpt'
    def detect(head: list[str]) -> float       # confidence 0..1 from the first lines
    class Parser:                              # streaming: lines in, schema events out
        def __init__(self, run_id: str = "log"): ...
        stats: analyzer.run.ParseStats
        def feed(self, lines: list[str], first_lineno: int) -> list[dict]
        def finish(self) -> list[dict]
    def read_bulk(builder, data, *, run_id, first_lineno=1, final=True) -> Parser | None
                                               # optional: the whole lines of a file's
                                               # bytes into a RunBuilder at once (the same
                                               # Run as the Parser), returning the Parser
                                               # to feed() what a followed file adds later;
                                               # None (nothing added): use the Parser
    def claims_path(path) -> bool              # optional, with parse_path(path, run_id,
    def parse_path(path, run_id, tag_map) -> Run   # tag_map): a binary file or a folder
                                               # (TensorBoard, trainer_state.json, ...)

Lines given to ``detect`` and ``feed`` are decoded text (UTF-8, bad bytes replaced) without
their line terminator (the ``\\n`` and a ``\\r`` just before it); ``first_lineno`` is the
1-based line number of ``lines[0]`` in the file.

Modules are imported on first use, so importing the registry costs nothing and a format
whose module is not installed yet is simply not offered.
"""
from __future__ import annotations

import importlib
from types import ModuleType

# Module names in detection order: on equal confidence the earlier one wins.
MODULES: tuple[str, ...] = ("jsonl", "nanogpt", "buildnanogpt", "llmc", "modded", "nanochat",
                            "tensorboard",  # event files, a run directory of them
                            "hf_state", "hf_trainer",  # Hugging Face trainer_state.json, stdout
                            "lightning",  # Lightning CSVLogger metrics.csv
                            "generic")  # any step + labelled numbers: the last resort

# How many lines detection looks at first, and how far it looks when nothing was confident:
# an original modded-nanogpt record starts with the whole training script, for instance.
HEAD_LINES = 300
LONG_HEAD_LINES = 20_000
# Below this confidence a format is not taken (a stray matching line is not a log).
MIN_CONFIDENCE = 0.2

_cache: dict[str, ModuleType | None] = {}
_extra: dict[str, ModuleType] = {}  # registered at run time, after the built-in ones


def _import(module: str) -> ModuleType | None:
    if module not in _cache:
        qualified = f"{__name__}.{module}"
        try:
            _cache[module] = importlib.import_module(qualified)
        except ModuleNotFoundError as e:
            if e.name != qualified:  # the module exists but something it imports is missing
                raise
            _cache[module] = None
    return _cache[module]


def parsers() -> dict[str, ModuleType]:
    """The available parser modules by format NAME, in detection order."""
    out: dict[str, ModuleType] = {}
    for module in MODULES:
        mod = _import(module)
        if mod is not None:
            out[mod.NAME] = mod
    out.update((name, mod) for name, mod in _extra.items() if name not in out)
    return out


def register(mod: ModuleType) -> None:
    """Offer one more format: any object with the parser module interface (a plugin, or a
    test's fake format). It is tried after the built-in formats."""
    _extra[mod.NAME] = mod


def unregister(name: str) -> None:
    _extra.pop(name, None)


def names() -> list[str]:
    """The format names that can be loaded."""
    return list(parsers())


def get(name: str) -> ModuleType:
    """The parser module of a format, by its NAME (or module name); KeyError if unknown."""
    mods = parsers()
    if name in mods:
        return mods[name]
    mod = _import(name) if name in MODULES else None
    if mod is None:
        raise KeyError(f"unknown format {name!r} (known: {', '.join(mods)})")
    return mod


def scores(head: list[str]) -> list[tuple[float, str]]:
    """Every format's confidence for these first lines, best first (stable on ties).

    A detector that fails counts as 0: one parser's bug must not stop the others from
    reading a log.
    """
    out = []
    for order, (name, mod) in enumerate(parsers().items()):
        try:
            score = float(mod.detect(head))
        except Exception:  # noqa: BLE001 - see the docstring
            score = 0.0
        out.append((score, order, name))
    out.sort(key=lambda t: (-t[0], t[1]))
    return [(score, name) for score, _, name in out]


def detect(head: list[str], min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The most likely format of a file from its first lines, or None below min_confidence."""
    ranked = scores(head)
    if ranked and ranked[0][0] >= min_confidence:
        return ranked[0][1]
    return None
