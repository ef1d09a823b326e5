"""A new user's mistakes get one clear line and lose nothing (issue #17, trainer items):
broken checkpoints, a missing tiktoken, bad sample arguments, a file as out_dir, nanoGPT's
Python config under --config, resuming a finished run, and bench's progress."""
from __future__ import annotations

import json
import sys

import pytest
import torch

from trainer import cli
from trainer.config import ConfigError
from trainer.sample import sample
from trainer.train import train

from .conftest import read_events


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(autouse=True)
def one_thread():
    """sample() uses torch's default threads; on a shared 2-core machine 2 spinning OpenMP
    threads make the tiny model's token-by-token generation many times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def finished(tiny):
    """A completed tiny run of 10 iterations with its checkpoint."""
    return train(tiny.replace(max_iters=10, lr_decay_iters=10, eval_interval=5,
                              run_id="done"), stdout=None).run_dir


# --- checkpoints (item 4) -------------------------------------------------------------------

@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"\x80\x02}q\x00."])
def test_broken_checkpoint_is_one_line_for_resume_and_sample(capsys, finished, content):
    (finished / "ckpt.pt").write_bytes(content)
    for argv in (["run", "--resume", finished], ["sample", "--run", finished,
                                                 "--device", "cpu"]):
        code, _, err = run_cli(capsys, *argv)
        line = one_line(err)
        assert code == 1 and "not a loadable checkpoint" in line and "ckpt.pt" in line
        if not content:
            assert "empty" in line


def test_checkpoint_with_objects_never_suggests_weights_only_false(capsys, finished):
    torch.save({"model": torch.nn.Linear(2, 2)}, finished / "ckpt.pt")  # a pickled module
    code, _, err = run_cli(capsys, "sample", "--run", finished, "--device", "cpu")
    line = one_line(err)
    assert code == 1 and "can run code" in line
    assert "weights_only" not in err and "trust" not in err


def test_sample_on_cuda_without_cuda_blames_the_device(capsys, finished, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, _, err = run_cli(capsys, "sample", "--run", finished, "--device", "cuda")
    line = one_line(err)
    assert code == 2 and line.startswith("error: device:") and "CUDA is not available" in line
    assert "checkpoint" not in line


# --- tiktoken missing (item 5) --------------------------------------------------------------

def test_missing_tiktoken_names_the_extra(capsys, tiny, tmp_path, monkeypatch):
    bpe = train(tiny.replace(data="shakespeare", max_iters=2, lr_decay_iters=2, eval_iters=1,
                             run_id="bpe"), stdout=None).run_dir
    (tmp_path / "book.txt").write_text("To be, or not to be. " * 50)
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "tiktoken.registry", None)
    for argv in (["prepare", "--input", tmp_path / "book.txt", "--tokenizer", "gpt2",
                  "--out", tmp_path / "book"],
                 ["run", "--preset=tiny", "--data=shakespeare", "--device=cpu",
                  f"--out_dir={tmp_path / 'logs2'}"],
                 ["sample", "--run", bpe, "--device", "cpu", "--max_new_tokens", "2"]):
        code, _, err = run_cli(capsys, *argv)
        line = one_line(err)
        assert code == 1 and "tiktoken" in line and "gptscope[train]" in line, argv


# --- sample arguments (item 6) --------------------------------------------------------------

@pytest.mark.parametrize("argv,field", [
    (["--top_k", "-3"], "top_k"), (["--temperature", "nan"], "temperature"),
    (["--temperature", "0"], "temperature"), (["--num_samples", "0"], "num_samples"),
    (["--max_new_tokens", "-1"], "max_new_tokens"), (["--start", "€€€"], "start"),
    (["--start", "FILE:/no/such/prompt.txt"], "start"), (["--device", "tpu"], "device"),
])
def test_bad_sample_arguments_are_one_line(capsys, finished, argv, field):
    code, _, err = run_cli(capsys, "sample", "--run", finished, "--device", "cpu", *argv)
    assert code == 2 and one_line(err).startswith(f"error: {field}: ")


def test_top_k_zero_turns_top_k_off(finished):
    # with temperature 1 and no top-k many characters come out; top-k 1 is greedy
    free = sample(finished, start="A", max_new_tokens=60, temperature=1.0, top_k=0,
                  device="cpu")[0]
    greedy = sample(finished, start="A", max_new_tokens=60, temperature=1.0, top_k=1,
                    device="cpu")[0]
    assert len(set(free)) > len(set(greedy))
    assert sample(finished, start="A", max_new_tokens=20, top_k=0, seed=3, device="cpu") \
        == sample(finished, start="A", max_new_tokens=20, top_k=None, seed=3, device="cpu")


def test_prompt_from_a_file_as_nanogpt_does(finished, tmp_path):
    (tmp_path / "prompt.txt").write_text("ROMEO:\n")
    (text,) = sample(finished, start=f"FILE:{tmp_path / 'prompt.txt'}", max_new_tokens=5,
                     device="cpu")
    assert text.startswith("ROMEO:\n") and len(text) == len("ROMEO:\n") + 5


# --- run: out_dir, --config, finished runs (items 7, 8, 13) ---------------------------------

def test_out_dir_that_is_a_file(capsys, tmp_path):
    (tmp_path / "book.txt").write_text("text")
    code, _, err = run_cli(capsys, "run", "--preset=tiny", "--device=cpu",
                           f"--out_dir={tmp_path / 'book.txt'}")
    line = one_line(err)
    assert code == 2 and line.startswith("error: out_dir: ") and "not a directory" in line
    assert "--resume" not in line and "run_id" not in line


NANOGPT_CONFIG = """# train a miniature character-level shakespeare model
out_dir = 'out-shakespeare-char'
eval_interval = 250 # keep frequent because we'll overfit
eval_iters = 200
log_interval = 10 # don't print too too often

# we expect to overfit on this small dataset, so only save when val improves
always_save_checkpoint = False

wandb_log = False # override via command line if you like
wandb_project = 'shakespeare-char'
"""


@pytest.mark.parametrize("name", ["train_shakespeare_char.py", "shakespeare.cfg"])
def test_config_given_nanogpt_python_gets_the_toml_hint(capsys, tmp_path, name):
    (tmp_path / name).write_text(NANOGPT_CONFIG)
    code, _, err = run_cli(capsys, "run", "--config", tmp_path / name)
    line = one_line(err)
    assert code == 2 and "TOML" in line and "not executed" in line
    assert "invalid TOML" not in line


def test_invalid_toml_that_is_not_python_still_says_where(capsys, tmp_path):
    (tmp_path / "c.toml").write_text("max_iters = [1,\n")
    code, _, err = run_cli(capsys, "run", "--config", tmp_path / "c.toml")
    assert code == 2 and "invalid TOML" in one_line(err)


def test_resuming_a_finished_run_says_how_to_extend_it(capsys, finished):
    before = (finished / "events.jsonl").read_text()
    code, out, err = run_cli(capsys, "run", "--resume", finished)
    line = one_line(err)
    assert code == 2 and line.startswith("error: max_iters: ")
    assert "nothing left to train" in line and "--max_iters=20" in line
    assert (finished / "events.jsonl").read_text() == before  # no empty segment
    assert "run completed" not in out
    code, _, _ = run_cli(capsys, "run", "--resume", finished, "--max_iters=12")
    assert code == 0 and read_events(finished)[-1]["steps"] == 12


# --- bench progress (item 14) ---------------------------------------------------------------

def test_bench_shows_progress_on_stderr_and_keeps_json_clean(capsys):
    code, out, err = run_cli(capsys, "bench", "--preset=tiny", "--device=cpu", "--steps=20",
                             "--warmup=1", "--json")
    assert code == 0 and json.loads(out)["steps"] == 20
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("bench: ")]
    assert "compile + first step" in lines[0]
    assert any("warm-up" in ln for ln in lines) and "bench: timing 20 step(s) ..." in lines
    assert "bench: 10/20 steps" in lines and "bench: 18/20 steps" in lines
