"""Configuration: field docs, typed parsing, validation naming the field, presets, TOML."""
import dataclasses

import pytest

from trainer import config as C


def test_every_field_has_a_docstring_and_a_unique_flat_name():
    docs = C.field_docs()
    names = [f.name for cls in C.SECTIONS.values() for f in dataclasses.fields(cls)]
    assert len(names) == len(set(names))
    assert set(docs) == set(names)
    assert all(len(docs[n]) > 10 for n in names)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        C.Config().model.n_layer = 8  # type: ignore[misc]


def test_defaults_are_nanogpt_cpu_recipe():
    flat = C.Config().flat()
    assert {k: flat[k] for k in ("n_layer", "n_head", "n_embd", "block_size", "batch_size",
                                 "dropout", "max_iters", "lr_decay_iters", "eval_iters",
                                 "compile")} == {
        "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "batch_size": 12,
        "dropout": 0.0, "max_iters": 2000, "lr_decay_iters": 2000, "eval_iters": 20,
        "compile": False}


def test_shakespeare_char_preset_is_the_gpu_baby_gpt():
    cfg = C.preset("shakespeare-char").flat()
    assert (cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["block_size"],
            cfg["batch_size"], cfg["dropout"]) == (6, 6, 384, 256, 64, 0.2)


@pytest.mark.parametrize("name", sorted(C.PRESETS))
def test_presets_validate(name):
    C.preset(name).validate()


@pytest.mark.parametrize("key,text,value", [
    ("max_iters", "2000", 2000), ("max-iters", "7", 7), ("--learning_rate", "3e-4", 3e-4),
    ("compile", "false", False), ("compile", "True", True), ("bias", "1", True),
    ("data", "some/dir", "some/dir"), ("peak_tflops", "989", 989.0),
])
def test_parse_value_types(key, text, value):
    assert C.parse_value(key, text) == value


@pytest.mark.parametrize("key,text,field,words", [
    ("max_iters", "1.5", "max_iters", "an integer"),
    ("compile", "maybe", "compile", "true or false"),
    ("learning_rate", "nan", "learning_rate", "a finite number"),
    ("max_itres", "5", "max_itres", "did you mean 'max_iters'"),
])
def test_parse_value_errors_name_the_field(key, text, field, words):
    with pytest.raises(C.ConfigError) as e:
        C.parse_value(key, text)
    assert e.value.field == field and str(e.value).startswith(f"{field}: ") and words in str(e.value)


@pytest.mark.parametrize("changes,field", [
    ({"learning_rate": -1e-3}, "learning_rate"),
    ({"n_head": 3}, "n_head"),
    ({"dropout": 1.0}, "dropout"),
    ({"min_lr": 1.0}, "min_lr"),
    ({"batch_size": 0}, "batch_size"),
    ({"nan_policy": "ignore"}, "nan_policy"),
    ({"device": "gpu"}, "device"),
    ({"dtype": "fp8"}, "dtype"),
    ({"run_id": "../escape"}, "run_id"),
    ({"beta2": 1.0}, "beta2"),
    ({"warmup_iters": 500, "lr_decay_iters": 100}, "lr_decay_iters"),
])
def test_validation_names_the_field(changes, field):
    with pytest.raises(C.ConfigError) as e:
        C.Config().replace(**changes).validate()
    assert e.value.field == field
    assert "\n" not in str(e.value)


def test_replace_rejects_unknown_keys():
    with pytest.raises(C.ConfigError, match="unknown config key"):
        C.Config().replace(n_layers=3)


def test_toml_flat_and_sectioned(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('preset = "tiny"\nmax_iters = 7\nlearning_rate = 1\n'
                    '[model]\nn_layer = 3\n"n-embd" = 24\n[system]\ncompile = false\n')
    values = C.load_toml(path)
    assert values == {"preset": "tiny", "max_iters": 7, "learning_rate": 1.0, "n_layer": 3,
                      "n_embd": 24, "compile": False}
    assert isinstance(values["learning_rate"], float)


@pytest.mark.parametrize("text,words", [
    ("max_iters = 'ten'\n", "max_iters: expected an integer"),
    ("[model]\nn_layers = 3\n", "[model] n_layers: unknown config key"),
    ("compile = 1\n", "compile: expected true or false"),
    ("max_iters = \n", "invalid TOML"),
])
def test_toml_errors_name_file_and_key(tmp_path, text, words):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(C.ConfigError) as e:
        C.load_toml(path)
    assert str(path) in str(e.value) and words in str(e.value)


def test_from_flat_roundtrip():
    cfg = C.preset("gpt2")
    assert C.from_flat(cfg.flat()) == cfg


def test_docs_table_matches_the_fields(repo_root):
    """docs/trainer.md lists every field with its current default and docstring."""
    text = (repo_root / "docs" / "trainer.md").read_text()
    docs, defaults = C.field_docs(), C.Config().flat()
    for name in C.FIELD_TYPES:
        assert f"| `{name}` | `{defaults[name]!r}` | {docs[name]} |" in text, name
