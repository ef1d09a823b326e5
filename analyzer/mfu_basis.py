"""What a run's MFU figure is measured against, so that no report states it at face value
when it should not be (pure functions, no printing).

MFU = achieved FLOP/s / a peak. nanoGPT's ``estimate_mfu`` divides by an A100's 312 TFLOPS
on every device, so its ``mfu 9.35%`` on an RTX A6000 or a V100 is not that GPU's MFU (nor is
an older nanochat's, against an H100's 989 TFLOPS). When
the log names the GPU and gptscope/peaks.py knows it, the figure is corrected to that GPU's
own peak; when it does not, the figure is kept but labelled "of an A100's peak". Apple GPUs
and CPUs have no comparable peak at all.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from gptscope import peaks

# the source the nanoGPT parser gives its peak (analyzer/parsers/nanogpt.py PEAK_SOURCE)
NANOGPT_SOURCE_PREFIX = "table:nanoGPT"
# and the nanochat parser, for a log without nanochat's 'GPU: … | Peak FLOPS' line
NANOCHAT_CONSTANT_SOURCE = "table:nanochat H100 bf16 constant"
# a trainer's constant peak, whatever the device: (whose peak, the trainer)
_CONSTANTS = {NANOGPT_SOURCE_PREFIX: ("an A100", "nanoGPT"),
              NANOCHAT_CONSTANT_SOURCE: ("an H100", "nanochat")}


@dataclass(frozen=True)
class MfuBasis:
    """How to read a run's MFU: ``factor`` turns the logged figure into the device's own
    MFU (None: keep it as it is); ``label`` says in a few words what the kept figure is
    against (None: nothing to add); ``comparable`` is False when no datasheet peak applies."""
    peak_flops: float | None
    source: str | None
    device_name: str | None
    device_peak_flops: float | None
    factor: float | None
    label: str | None
    comparable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def apply(self, mfu: float | None) -> float | None:
        """The MFU against the device's own peak where known, else as logged."""
        if mfu is None or self.factor is None:
            return mfu
        return mfu * self.factor


def _constant(constant: tuple[str, str], source: str, name: str | None, device: str,
              used: float) -> MfuBasis:
    """The basis of a trainer's figure against a constant peak (nanoGPT's A100, older
    nanochat's H100; ``constant``: whose peak, the trainer): the named GPU's own peak where
    the table knows it."""
    gpu, trainer = constant
    against = f"of {gpu}'s {used / 1e12:g} TFLOPS ({trainer}'s constant"
    entry = peaks.lookup(name)
    if entry is not None:
        return MfuBasis(used, source, name, entry.flops, used / entry.flops,
                        f"of the {name}'s {entry.tflops:g} TFLOPS ({trainer} printed it "
                        f"against {gpu}'s {used / 1e12:g})")
    if device == "cpu":
        return MfuBasis(used, source, name, None, None,
                        f"{against}; on a CPU it means nothing)", comparable=False)
    where = (f"the {name} is not in the peak table" if name
             else "the log does not name the GPU")
    return MfuBasis(used, source, name, None, None, f"{against}; {where})")


def mfu_basis(meta: dict[str, Any]) -> MfuBasis:
    """The basis of the MFU of a run with this ``run.meta`` (its run_start header)."""
    name = meta.get("device_name")
    device = str(meta.get("device") or "").lower()
    used = meta.get("peak_flops")
    source = meta.get("peak_flops_source")
    why_not = peaks.not_comparable(device, name)
    if why_not:
        return MfuBasis(used, source, name, None, None, f"(not comparable: {why_not})",
                        comparable=False)
    constant = next((v for k, v in _CONSTANTS.items() if str(source or "").startswith(k)), None)
    if used and constant is not None:
        return _constant(constant, str(source), name, device, float(used))
    return MfuBasis(used, source, name, used, None, None)
