"""A line cut short keeps what was complete: only the cut field is dropped (issue #12,
class 3), in every stdout format. A file that ends mid-line ends with such a line."""
from __future__ import annotations

import math

import pytest

from analyzer.parsers import buildnanogpt, llmc, modded, nanochat, nanogpt
from tests.analyzer._parse_util import run

CASES = [
    (nanogpt, "iter 0: loss 2.0000, time 10.00ms, mfu 1.00%", "iter 1: loss nan, time 13"),
    (nanogpt, "iter 0: loss 2.0000, time 10.00ms, mfu 1.00%", "iter 1: loss nan, ti"),
    (llmc, "step    1/100 | loss 11.009662 (+nanz)| norm 15.0789 (+nanz)| lr 8.57e-07 | "
           "4230.95 ms | 31.9% bf16 MFU | 123917 tok/s",
     "step    2/100 | loss nan (+nanz)| norm 15.2427 (+nanz)| lr 1.71e-06 | 4385"),
    (buildnanogpt, "step     0 | loss: 10.955010 | lr 8.3916e-07 | norm: 15.3421 | dt: "
                   "23547.83ms | tok/sec: 22264.81",
     "step     1 | loss: nan | lr 1.6783e-06 | norm: 14.8630 | dt: 410"),
    (nanochat, "step 00000/100 (0.00%) | loss: 10.397165 | lrm: 1.00 | dt: 180.85ms | "
               "tok/sec: 29,001 | mfu: 1.81 | epoch: 1 | total time: 0.00m",
     "step 00001/100 (1.00%) | loss: nan | lrm: 1.00 | dt: 62"),
    (modded, "step:1/100 train_loss:11.0091 train_time:240ms step_avg:nanms",
     "step:2/100 train_loss:nan train_time:48"),
]


@pytest.mark.parametrize("mod,first,cut", CASES, ids=lambda x: getattr(x, "NAME", None))
def test_cut_line_keeps_the_complete_fields(mod, first, cut):
    r = run(mod, first + "\n" + cut)  # no newline: the file ends mid-line
    assert len(r.iters) == 2 and r.stats.skipped == 0
    last = r.iters.iloc[-1]
    assert math.isnan(last["loss"])  # the NaN loss was complete: it is read
    assert r.anomalies["kind"].tolist() == ["nonfinite_loss"]
    # the cut time is not a time (it lost its unit and maybe digits)
    assert math.isnan(last["dt_ms"]) and math.isnan(last["step_ms"])
