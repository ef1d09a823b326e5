"""analyzer/references.py: published reference points and where a run stands against them."""
from __future__ import annotations

import json
import math

import pytest

from analyzer.loader import load
from analyzer.references import (Reference, ReferenceError, builtin_references, describe_run,
                                 matching, parse_references, reference_from_run, run_standing,
                                 stand)
from tests.analyzer import _synth as S
from tests.conftest import REALDATA


def ref(points, **kw) -> Reference:
    base = dict(id="r", label="the reference", source="test", dataset="fineweb",
                tokenizer="gpt2", n_params=124e6, metric="val_loss", points=tuple(points))
    return Reference(**{**base, **kw})


def test_the_issue_example_reads_as_written():
    r = ref([(1e9, 3.5), (5e9, 3.00), (10e9, 2.9)])
    s = stand(5e9, 3.05, r)
    assert s.message == ("val 3.05 at 5B tokens; the reference reached 3.00 there: 1.7% behind")
    assert s.rel == pytest.approx(0.05 / 3.0)
    assert "ahead" in stand(5e9, 2.95, r).message


def test_interpolation_is_log_linear_and_never_extrapolates():
    r = ref([(1e9, 4.0), (100e9, 3.0)])
    assert r.at(10e9) == pytest.approx(3.5)        # halfway in log(tokens)
    assert r.at(0.5e9) is None and r.at(200e9) is None
    s = stand(200e9, 2.9, r)
    assert s.reference_value is None and "from 1B to 100B tokens only" in s.message


def test_a_level_and_a_target_are_compared_without_tokens():
    level = ref([(None, 3.12)], label="GPT-2 124M")
    assert "is at 3.12 " in stand(1e9, 3.3, level).message
    target = ref([(730e6, 3.279)], target=3.28, label="the target")
    m = stand(10e9, 3.2648, target).message
    assert m.endswith("0.5% below it") and "record reached 3.279 at 730M tokens" in m


def test_builtin_table_has_the_published_figures_with_sources():
    refs = {r.id: r for r in builtin_references()}
    assert refs["openai-gpt2-124m-owt"].points == ((None, 3.12),)
    assert refs["openai-gpt2-1558m-owt"].points == ((None, 2.54),)
    assert refs["nanogpt-124m-owt"].points == ((None, 2.85),)
    assert refs["modded-nanogpt-target-fineweb"].target == 3.28
    assert refs["gptscope-cpu-shakespeare-char"].curve[-1] == (1536000.0, 1.9029)
    assert all(r.source and r.dataset and r.tokenizer for r in refs.values())


def test_the_llmc_reference_curve_is_the_fixture_log():
    """The built-in llm.c points are the val losses of the fixture log (524,288 tokens/step)."""
    run = load(REALDATA / "llmc" / "modded-record-2024-10-13-llmc-main.log")
    ev = run.evals.dropna(subset=["val_loss"]).set_index("step")["val_loss"]
    r = next(r for r in builtin_references() if r.id == "llmc-gpt2-124m-fineweb10b")
    for tokens, value in r.curve:
        assert ev[round(tokens / 524288)] == pytest.approx(value)


def test_a_real_llmc_run_stands_against_the_llmc_reference():
    run = load(REALDATA / "llmc" / "hector-11685414-full-run-a100.log")
    assert describe_run(run) == {"dataset": "fineweb", "tokenizer": "gpt2",
                                 "n_params": 124475904}  # as llm.c prints it
    assert {r.id for r in matching(run, builtin_references())} == {
        "llmc-gpt2-124m-fineweb10b", "modded-nanogpt-target-fineweb"}
    by_id = {s.reference: s for s in run_standing(run)}
    s = by_id["llmc-gpt2-124m-fineweb10b"]
    # this run ended at 3.264775; the baseline log at 3.2722 at the same step
    assert s.value == pytest.approx(3.264775) and s.reference_value == pytest.approx(3.2722)
    assert "0.2% ahead" in s.message


def test_an_unknown_dataset_matches_nothing():
    run = S.run(S.iters(range(3)), S.ev(2, 3.0, 3.0),
                meta={"config": {"data": "mystery", "batch_size": 2, "block_size": 4}})
    assert matching(run, builtin_references()) == [] and run_standing(run) == []


def test_a_users_own_run_becomes_a_reference():
    mine = S.run(S.iters(range(0, 101, 10)), [S.ev(s, 3.0, 3.0 - s / 100) for s in (0, 50, 100)],
                 meta={"config": {"data": "shakespeare_char", "batch_size": 4, "block_size": 8}})
    r = reference_from_run(mine, "my baseline", "shakespeare_char", "char")
    assert r.curve == [(0.0, 3.0), (1600.0, 2.5), (3200.0, 2.0)]
    assert stand(1600.0, 2.6, r).message.endswith("4.0% behind")
    with pytest.raises(ReferenceError, match="no val losses"):
        reference_from_run(S.run(S.iters(range(3))), "x", "d", "t")


@pytest.mark.parametrize("text,why", [
    ("{", "line 1: not JSON"),
    (json.dumps({"format": "other"}), "not a references file"),
    (json.dumps({"format": "gptscope-references", "version": 9, "references": []}),
     "version 9"),
    (json.dumps({"format": "gptscope-references", "version": 1,
                 "references": [{"id": "x", "source": "s", "dataset": "d", "tokenizer": "t",
                                 "points": [[1, math.inf]]}]}), "reference x"),
])
def test_bad_reference_files_name_the_problem(text, why):
    with pytest.raises(ReferenceError, match=why):
        parse_references(text.replace("Infinity", "1e999"), "mine.json")


def test_overlay_and_standing_findings_on_a_real_run():
    from analyzer.references import overlay, standing_findings
    run = load(REALDATA / "llmc" / "hector-11685414-full-run-a100.log")
    r = next(r for r in builtin_references() if r.id == "llmc-gpt2-124m-fineweb10b")
    pts = overlay(run, r)
    assert pts[0] == (250.0, 6.171) and pts[-1] == (19560.0, 3.2722)
    found = standing_findings(run)
    assert {f.evidence["reference"] for f in found} == {
        "llmc-gpt2-124m-fineweb10b", "modded-nanogpt-target-fineweb"}
    assert all(f.code == "reference_standing" and f.severity == "info" for f in found)
    assert overlay(S.run(S.iters(range(3))), r) == []
    target = next(r for r in builtin_references() if r.id == "modded-nanogpt-target-fineweb")
    assert overlay(run, target) == []          # a bar to clear, not a curve to draw


def test_a_users_reference_is_a_file_or_a_run(tmp_path):
    from analyzer.references import load_reference
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"format": "gptscope-references", "version": 1, "references": [
        {"id": "lab-124m", "source": "our cluster, run 17", "dataset": "fineweb",
         "tokenizer": "gpt2", "n_params": 124e6, "points": [[1e9, 3.9], [1e10, 3.3]]}]}))
    (r,) = load_reference(str(mine))
    assert r.id == "lab-124m" and r.at(1e10) == 3.3
    log = REALDATA / "llmc" / "hector-11685414-full-run-a100.log"
    (r,) = load_reference(str(log))
    assert r.label.startswith("your run") and (r.dataset, r.tokenizer) == ("fineweb", "gpt2")
    (s,) = run_standing(load(log), [r], match=False)
    assert s.rel == 0.0 and s.message.endswith("there: level with it")
    # the speedrun's llm.c log file prints no tokens per step: no reference from it
    with pytest.raises(ReferenceError, match="no val losses with known tokens per step"):
        load_reference(str(REALDATA / "llmc" / "modded-record-2024-10-13-llmc-main.log"))
    with pytest.raises(ReferenceError, match="cannot read"):
        load_reference(str(tmp_path / "missing.json"))
