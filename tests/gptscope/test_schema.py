"""The event schema: construction, validation, serialisation, and docs kept in step."""
import json
import math
import re

import pytest

from gptscope import schema


def test_make_event_fills_every_field_in_order():
    ev = schema.make_event("iter", "r1", 5, 1.0, loss=2.5, dt_ms=10.0)
    assert list(ev) == [n for n in schema.field_names("iter") if n not in schema.OPTIONAL]
    assert ev["eval_inclusive"] is False and ev["mfu"] is None and ev["loss"] == 2.5


def test_nonfinite_floats_become_null_and_json_is_strict():
    ev = schema.make_event("iter", "r1", 1, 1.0, loss=float("nan"), grad_norm=math.inf)
    assert ev["loss"] is None and ev["grad_norm"] is None
    line = schema.dumps(ev)
    assert "NaN" not in line and "Infinity" not in line
    assert json.loads(line) == ev


@pytest.mark.parametrize("etype,fields,problem", [
    ("iter", {"loss": "low"}, "'loss' should be float|null"),
    ("iter", {"eval_inclusive": 1}, "'eval_inclusive' should be bool"),
    ("run_end", {"status": "exploded"}, "status must be one of"),
])
def test_validate_names_the_field(etype, fields, problem):
    ev = {"type": etype, "v": 1, "run_id": "r", "time": 0.0, "step": 1}
    for name in schema.field_names(etype)[5:]:
        ev.setdefault(name, None)
    ev.update(fields)
    assert any(problem in e for e in schema.validate(ev))


def test_make_event_rejects_unknown_fields_and_types():
    with pytest.raises(schema.SchemaError, match="unknown field"):
        schema.make_event("eval", "r", 1, 0.0, vall_loss=1.0)
    with pytest.raises(schema.SchemaError, match="unknown event type"):
        schema.make_event("itr", "r", 1, 0.0)


def test_bool_is_not_an_int_step():
    ev = schema.make_event("eval", "r", 1, 0.0, val_loss=1.0)
    ev["step"] = True
    assert schema.validate(ev)


def test_read_events_skips_and_counts_bad_lines():
    good = schema.dumps(schema.make_event("eval", "r", 10, 0.0, val_loss=1.5))
    lines = [good, "{not json", "", '{"type": "iter"}', good[: len(good) // 2], good]
    out = list(schema.read_events(lines))
    bad = [o for o in out if isinstance(o, schema.BadLine)]
    assert [b.lineno for b in bad] == [2, 4, 5]
    assert sum(isinstance(o, dict) for o in out) == 2


def test_docs_list_every_field_of_every_event(repo_root):
    doc = (repo_root / "docs" / "events.md").read_text()
    assert schema.schema_markdown() in doc, "docs/events.md is stale: regenerate it with " \
        "python -m gptscope.schema > docs/events.md (see its header)"
    for etype, fields in schema.FIELDS.items():
        assert f"### `{etype}`" in doc
        for name, _, _ in fields:
            assert re.search(rf"\| `{name}` \|", doc), name


@pytest.mark.parametrize("bad", [{"type": [1]}, {"type": {"a": 1}}, {"type": None}, [], "iter"])
def test_validate_never_raises_on_odd_json(bad):
    assert schema.validate(bad)


def test_json_safe_is_the_one_clean_up():
    import numpy as np
    value = {"a": float("nan"), "b": [np.float32(1.5), (np.int64(3), float("-inf"))],
             "c": {"d": np.float64("inf"), "e": "text", "f": None, "g": True}}
    clean = schema.json_safe(value)
    assert clean == {"a": None, "b": [1.5, [3, None]],
                     "c": {"d": None, "e": "text", "f": None, "g": True}}
    assert type(clean["b"][0]) is float and type(clean["b"][1][0]) is int
    json.dumps(clean, allow_nan=False)  # strict JSON now
    assert value["a"] != value["a"]  # the input is left as it was


def test_no_other_json_clean_up_in_the_project(repo_root):
    """json_safe is the only place that turns NaN and numpy scalars into plain JSON."""
    offenders = []
    for path in repo_root.glob("*/**/*.py"):
        if path.parts[len(repo_root.parts)] in ("gptscope", "analyzer", "app", "trainer"):
            text = path.read_text()
            if "def _jsonable" in text or "def _clean(" in text:
                offenders.append(str(path.relative_to(repo_root)))
    assert offenders == []
