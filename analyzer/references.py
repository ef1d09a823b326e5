"""Reference curves: published losses to hold a run against, by tokens seen.

"Is 3.05 at 5B tokens good?" has an answer only against a run of the same data, tokenizer and
model size. analyzer/data/references.json holds published points, each with its source:
OpenAI's GPT-2 checkpoints evaluated on OpenWebText and nanoGPT's 124M reproduction (nanoGPT's
README), llm.c's 124M FineWeb run (the speedrun's baseline log), modded-nanogpt's 3.28 FineWeb
target, and our own trainer's default CPU recipe (docs/trainer.md). A user adds their own: a
JSON file of the same shape (``read_references``) or any run the analyzer reads
(``reference_from_run``).

A point is (tokens, loss); tokens is null for a checkpoint evaluated once (a level, not a
curve). Between points the reference is interpolated linearly in log(tokens); it is never
extrapolated past its last point. Pure functions, no printing.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from analyzer.findings import Finding
from analyzer.run import Run

FORMAT = "gptscope-references"
VERSION = 1
SIZE_MATCH = 2.0    # a reference matches a model within this factor of its parameter count


class ReferenceError(ValueError):
    """A references file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Reference:
    id: str
    label: str
    source: str
    dataset: str
    tokenizer: str
    n_params: float | None
    metric: str
    points: tuple[tuple[float | None, float], ...]
    note: str = ""
    target: float | None = None

    @property
    def curve(self) -> list[tuple[float, float]]:
        """The points that have tokens, in token order."""
        return sorted((t, v) for t, v in self.points if t is not None)

    def at(self, tokens: float) -> float | None:
        """The reference loss at this many tokens (log-linear between points), or None
        outside the curve."""
        c = [(t, v) for t, v in self.curve if t > 0]
        if not c or tokens < c[0][0] or tokens > c[-1][0]:
            return None
        for (t0, v0), (t1, v1) in zip(c, c[1:]):
            if t0 <= tokens <= t1:
                w = (math.log(tokens) - math.log(t0)) / (math.log(t1) - math.log(t0))
                return v0 + w * (v1 - v0)
        return c[0][1]     # a one-point curve, at exactly its tokens


def _reference(d: dict[str, Any], where: str) -> Reference:
    try:
        points = tuple((None if t is None else float(t), float(v)) for t, v in d["points"])
        if not points or not all(math.isfinite(v) for _, v in points):
            raise ValueError("points must be [tokens or null, finite loss] pairs")
        return Reference(str(d["id"]), str(d.get("label") or d["id"]), str(d["source"]),
                         str(d["dataset"]).lower(), str(d["tokenizer"]).lower(),
                         None if d.get("n_params") is None else float(d["n_params"]),
                         str(d.get("metric", "val_loss")), points, str(d.get("note", "")),
                         None if d.get("target") is None else float(d["target"]))
    except (KeyError, TypeError, ValueError) as e:
        name = d.get("id", "?") if isinstance(d, dict) else "?"
        raise ReferenceError(f"{where}: reference {name}: {type(e).__name__}: {e}") from None


def parse_references(text: str, where: str = "references") -> list[Reference]:
    """References from a file's text; ReferenceError names the file, line and problem."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise ReferenceError(f"{where}: line {getattr(e, 'lineno', '?')}: not JSON "
                             f"({getattr(e, 'msg', e)})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ReferenceError(f"{where}: not a references file (format should be {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise ReferenceError(f"{where}: version {doc.get('version')!r} is not supported")
    if not isinstance(doc.get("references"), list):
        raise ReferenceError(f"{where}: 'references' must be a list")
    return [_reference(d, where) for d in doc["references"]]


def builtin_references() -> list[Reference]:
    """The published references shipped with the analyzer."""
    text = resources.files("analyzer").joinpath("data/references.json").read_text("utf-8")
    return parse_references(text, "analyzer/data/references.json")


def read_references(path: str) -> list[Reference]:
    try:
        with open(path, encoding="utf-8") as f:
            return parse_references(f.read(), path)
    except OSError as e:
        raise ReferenceError(f"{path}: cannot read ({e.strerror})") from None


def load_reference(path: str) -> list[Reference]:
    """A user's reference: a references JSON file, or any run the analyzer reads (its evals
    by tokens seen, labelled with the file name; its dataset and tokenizer as the run says).
    ReferenceError names the file and the problem."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096).decode("utf-8", "replace")
    except OSError as e:
        raise ReferenceError(f"{path}: cannot read ({e.strerror})") from None
    if FORMAT in head:
        return read_references(path)
    from analyzer.loader import LoadError, load      # a run: the loader, only when needed
    try:
        run = load(path)
    except (LoadError, OSError, ValueError) as e:
        raise ReferenceError(f"{path}: not a references file, and not a run ({e})") from None
    d = describe_run(run)
    return [reference_from_run(run, f"your run {run.name}", d["dataset"] or "unknown",
                               d["tokenizer"] or "unknown")]


# ---------------------------------------------------------------------------- runs

def tokens_per_step(run: Run) -> float | None:
    meta = run.meta or {}
    tpi = meta.get("tokens_per_iter")
    if isinstance(tpi, (int, float)) and tpi > 0:
        return float(tpi)
    c = meta.get("config") or {}
    try:
        return float(c["batch_size"] * c["block_size"] * c.get("gradient_accumulation_steps", 1)
                     * (meta.get("world_size") or 1))
    except (KeyError, TypeError):
        return None


def val_points(run: Run) -> list[tuple[float, float]]:
    """(tokens seen, val loss) of each eval with a finite val loss, when tokens are known."""
    tps = tokens_per_step(run)
    ev = run.evals.dropna(subset=["step", "val_loss"])
    if tps is None or ev.empty:
        return []
    return [(float(s) * tps, float(v)) for s, v in zip(ev["step"], ev["val_loss"])
            if math.isfinite(v)]


def overlay(run: Run, ref: Reference) -> list[tuple[float, float]]:
    """The reference curve in the run's steps (tokens / tokens per step), to draw over the
    run's val loss; empty when the run's tokens per step are unknown or the reference is no
    curve (a level, a target, a single point)."""
    tps = tokens_per_step(run)
    if not tps or ref.target is not None or len(ref.curve) < 2:
        return []
    return [(t / tps, v) for t, v in ref.curve]


def reference_from_run(run: Run, label: str, dataset: str, tokenizer: str,
                       n_params: float | None = None) -> Reference:
    """A user's own run as a reference (its evals by tokens seen)."""
    points = val_points(run)
    if not points:
        raise ReferenceError(f"{run.source or label}: no val losses with known tokens per step")
    n = n_params or ((run.meta or {}).get("model") or {}).get("n_params")
    return Reference(label, label, run.source or label, dataset.lower(), tokenizer.lower(),
                     n, "val_loss", tuple(points))


def describe_run(run: Run) -> dict[str, Any]:
    """What a run says about its data, tokenizer and size (None where it does not say)."""
    meta = run.meta or {}
    c = {str(k).lower(): v for k, v in (meta.get("config") or {}).items()}
    text = " ".join(str(c.get(k, "")) for k in ("data", "dataset", "train data pattern",
                                                "input_bin")).lower()
    dataset = next((d for d in ("fineweb", "openwebtext", "shakespeare_char", "shakespeare")
                    if d in text.replace("owt", "openwebtext")), None)
    vocab = (meta.get("model") or {}).get("vocab_size")
    tokenizer = ("gpt2" if vocab in (50257, 50304) else "char" if vocab == 65 else
                 "char" if dataset == "shakespeare_char" else None)
    return {"dataset": dataset, "tokenizer": tokenizer,
            "n_params": (meta.get("model") or {}).get("n_params")}


def matching(run: Run, refs: list[Reference]) -> list[Reference]:
    """References of the run's dataset and tokenizer, and of its size where both say."""
    d = describe_run(run)
    out = []
    for r in refs:
        if d["dataset"] != r.dataset or (d["tokenizer"] and d["tokenizer"] != r.tokenizer):
            continue
        if d["n_params"] and r.n_params and not (
                1 / SIZE_MATCH <= d["n_params"] / r.n_params <= SIZE_MATCH):
            continue
        out.append(r)
    return out


# ---------------------------------------------------------------------------- standing

@dataclass(frozen=True)
class Standing:
    """Where a run's loss stands against a reference at the run's tokens seen."""
    reference: str
    tokens: float
    value: float
    reference_value: float | None
    rel: float | None                 # (value - reference) / reference; > 0: behind
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _loss(x: float) -> str:
    """3.0 -> '3.00', 3.05 -> '3.05', 3.2648 -> '3.2648': the digits a log prints."""
    text = f"{x:.4f}".rstrip("0")
    return text if len(text.split(".")[1]) >= 2 else f"{x:.2f}"


def _tokens(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


def stand(tokens: float, value: float, ref: Reference) -> Standing:
    """'val 3.05 at 5B tokens; the reference reached 3.00 there: 1.7% behind'."""
    head = f"val {_loss(value)} at {_tokens(tokens)} tokens"
    if ref.target is not None:       # a bar to clear, whatever the tokens
        rel = (value - ref.target) / ref.target
        where = (f" (its record reached {_loss(ref.curve[0][1])} at {_tokens(ref.curve[0][0])} "
                 "tokens)" if ref.curve else "")
        return Standing(ref.id, tokens, value, ref.target, rel,
                        f"{head}; {ref.label} is {_loss(ref.target)}{where}: "
                        f"{abs(rel):.1%} {'above' if rel > 0 else 'below'} it",
                        {"reference_source": ref.source})
    at = ref.at(tokens)
    if at is None:
        curve = ref.curve
        if curve:
            why = (f"{ref.label} has points from {_tokens(curve[0][0])} to "
                   f"{_tokens(curve[-1][0])} tokens only")
        else:
            level = ref.points[0][1]
            rel = (value - level) / level
            return Standing(ref.id, tokens, value, level, rel,
                            f"{head}; {ref.label} is at {_loss(level)} "
                            f"({abs(rel):.1%} {'above' if rel > 0 else 'below'} it; "
                            "a level, not a curve: tokens not comparable)")
        return Standing(ref.id, tokens, value, None, None, f"{head}; {why}")
    rel = (value - at) / at
    side = ("level with it" if abs(rel) < 0.0005 else
            f"{abs(rel):.1%} {'behind' if rel > 0 else 'ahead'}")
    return Standing(ref.id, tokens, value, at, rel,
                    f"{head}; {ref.label} reached {_loss(at)} there: {side}",
                    {"reference_source": ref.source})


def standing_findings(run: Run, refs: list[Reference] | None = None) -> list[Finding]:
    """One info finding per matching reference: where the run's last val loss stands."""
    out = []
    for s in run_standing(run, refs):
        if s.reference_value is None:
            continue
        out.append(Finding(
            code="reference_standing", severity="info", message=s.message + ".",
            evidence={"reference": s.reference, "tokens": s.tokens, "val_loss": s.value,
                      "reference_val_loss": s.reference_value, "rel": s.rel,
                      **s.evidence},
            suggestion=("Behind a reference of the same data, tokenizer and size: compare "
                        "learning rate, batch size and schedule with its source.")))
    return out


def reference_standing(run: Run, config: Any = None) -> list[Finding]:
    """The diagnostic form (``fn(run, config)``) of standing_findings, on the built-in
    references."""
    return standing_findings(run)


def run_standing(run: Run, refs: list[Reference] | None = None,
                 match: bool = True) -> list[Standing]:
    """The run's last val loss against every matching reference (builtin ones by default);
    match=False: against every one given (a user's own reference of the same setup)."""
    points = val_points(run)
    if not points:
        return []
    tokens, value = points[-1]
    refs = refs if refs is not None else builtin_references()
    return [stand(tokens, value, r) for r in (matching(run, refs) if match else refs)]
