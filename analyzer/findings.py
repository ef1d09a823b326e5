"""What a diagnostic reports: a Finding.

A finding is one thing worth telling the person who trained the run: what happened (a code
and one plain sentence), how bad it is (severity), where (step range and segment), the numbers
behind it (evidence) and what to do about it (suggestion). Diagnostics return lists of them;
the CLI, the report and the dashboard only display them.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from gptscope.schema import json_safe

Severity = Literal["info", "warning", "error"]
SEVERITIES: tuple[str, ...] = ("info", "warning", "error")
# Codes that can happen more than once in a segment, each time at its own step (a second
# loss spike; overfitting again after a new best val loss). Other codes describe the state of
# a segment, whose step range moves as the run grows (a plateau's tail, the MFU statistics).
EPISODIC = frozenset({"loss_spike", "loss_divergence", "overfitting"})


@dataclass(frozen=True)
class Finding:
    """One diagnosis of a run."""
    code: str
    """Stable machine name, e.g. 'overfitting' or 'nonfinite_loss'."""
    severity: Severity
    """'info' (expected or harmless), 'warning' (worth a look) or 'error' (the run is broken)."""
    message: str
    """One sentence a newcomer understands."""
    steps: tuple[int, int] | None = None
    """First and last training step the finding covers (inclusive); None: the whole run."""
    segment: int = 0
    """Which segment of the file (run or resume) the finding belongs to."""
    evidence: dict[str, Any] = field(default_factory=dict)
    """The numbers behind the message (JSON-serialisable scalars and short lists)."""
    suggestion: str = ""
    """What to do about it."""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"Finding.severity must be one of {SEVERITIES}, "
                             f"got {self.severity!r}")

    @property
    def rank(self) -> int:
        """0 for info, 1 for warning, 2 for error: for sorting and --fail-on."""
        return SEVERITIES.index(self.severity)

    @property
    def key(self) -> tuple[str, int, int | None]:
        """Identity of a finding while a run grows: `watch` prints each key once."""
        start = self.steps[0] if self.steps and self.code in EPISODIC else None
        return (self.code, self.segment, start)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["steps"] = list(self.steps) if self.steps else None
        d["evidence"] = json_safe(dict(self.evidence))
        return d

    def format(self) -> str:
        """A human line: severity, code, where, message."""
        where = ""
        if self.steps:
            a, b = self.steps
            where = f" [step {a}]" if a == b else f" [steps {a}-{b}]"
        seg = f" (segment {self.segment})" if self.segment else ""
        return f"{self.severity.upper():7s} {self.code}{where}{seg}: {self.message}"


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then by segment and step."""
    return sorted(findings, key=lambda f: (-f.rank, f.segment,
                                           f.steps[0] if f.steps else -1, f.code))


def worst(findings: list[Finding]) -> str | None:
    """The highest severity among findings, or None when there are none."""
    return max(findings, key=lambda f: f.rank).severity if findings else None
