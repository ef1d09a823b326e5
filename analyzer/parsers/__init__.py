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
                            "fairseq",  # fairseq-train's console
                            "metrics_jsonl",  # other trainers' metrics as JSON lines
                            "generic")  # any step + labelled numbers: the last resort
# The formats that read a whole path (claims_path/parse_path): only these are imported to
# ask whether a path is theirs, so a text log does not import every parser to find out.
PATH_MODULES: tuple[str, ...] = ("tensorboard", "hf_state", "lightning")
# The most confidence each format's detect() ever gives (1.0 if not listed): a format is
# not imported or asked once an earlier one is at least that sure, since it loses ties. A
# nanoGPT log (0.95 from its first iteration line) then never imports the parsers after it
# (~10 ms of their patterns compiling; the generic reader's alone ~10 ms more). Tests
# check every ceiling on every fixture.
CEILINGS: dict[str, float] = {"nanogpt": 0.95, "buildnanogpt": 0.95, "llmc": 0.95,
                              "modded": 0.95, "nanochat": 0.95, "tensorboard": 0.99,
                              "hf_state": 0.95, "hf_trainer": 0.9, "lightning": 0.85,
                              "fairseq": 0.95, "metrics_jsonl": 0.9, "generic": 0.55}

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


def path_readers() -> dict[str, ModuleType]:
    """The available modules that read whole paths (``claims_path``), by format NAME."""
    out = {mod.NAME: mod for mod in map(_import, PATH_MODULES) if mod is not None}
    out.update((name, mod) for name, mod in _extra.items()
               if name not in out and hasattr(mod, "claims_path"))
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
    for module in MODULES:  # (imported in order until found: generic, last, rarely is)
        mod = _import(module)
        if mod is not None and name in (mod.NAME, module):
            return mod
    if name in _extra:
        return _extra[name]
    raise KeyError(f"unknown format {name!r} (known: {', '.join(parsers())})")


def scores(head: list[str]) -> list[tuple[float, str]]:
    """Every format's confidence for these first lines, best first (stable on ties).

    A detector that fails counts as 0: one parser's bug must not stop the others from
    reading a log.
    """
    out = [(_score(mod, head), order, name) for order, (name, mod) in enumerate(parsers().items())]
    out.sort(key=lambda t: (-t[0], t[1]))
    return [(score, name) for score, _, name in out]


def detect(head: list[str], min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The most likely format of a file from its first lines, or None below min_confidence
    (``scores``' winner; a format is only asked when it could win: see CEILINGS)."""
    best, name, seen = 0.0, None, set()
    for module in MODULES:
        if CEILINGS.get(module, 1.0) <= best:
            seen.add(module)  # (its NAME, but for hf_state: "hf_trainer_state")
            continue  # it loses ties to the earlier formats, and it cannot score higher
        mod = _import(module)
        if mod is None:
            continue
        seen.add(mod.NAME)
        if (score := _score(mod, head)) > best:
            best, name = score, mod.NAME
    for mod in _extra.values():
        if mod.NAME not in seen and (score := _score(mod, head)) > best:
            best, name = score, mod.NAME
    return name if name is not None and best >= min_confidence else None


def _score(mod: ModuleType, head: list[str]) -> float:
    """A detector's confidence; 0 if it fails (see ``scores``)."""
    try:
        return float(mod.detect(head))
    except Exception:  # noqa: BLE001 - one parser's bug must not stop the others
        return 0.0
