"""Data: the embedded corpus, tokenizers (GPT-2 BPE offline), `prepare`, batches."""
import json
import os

import numpy as np
import pytest
import torch

from trainer import data


def test_embedded_char_dataset_matches_nanogpt_split():
    # facts from shared/data/SOURCES.md: 65 characters; 1,003,854 train / 111,540 val
    ds = data.load_dataset("shakespeare_char")
    assert ds.vocab_size == 65 and len(ds.train) == 1_003_854 and len(ds.val) == 111_540
    tok = data.tokenizer_from_meta(ds.meta)
    assert tok.decode(ds.train[:14].tolist()) == "First Citizen:"


def test_gpt2_encoding_works_offline_and_restores_environment(monkeypatch):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent-cache")
    from tiktoken.registry import ENCODINGS
    monkeypatch.delitem(ENCODINGS, "gpt2", raising=False)  # force a real load from our files
    tok = data.GPT2Tokenizer()
    # reference ids from shared/data/SOURCES.md (checked against OpenAI's encoding)
    assert tok.encode("Hello, I'm a language model,") == [15496, 11, 314, 1101, 257, 3303,
                                                          2746, 11]
    assert tok.vocab_size == 50257 and tok.eot == 50256
    assert os.environ["TIKTOKEN_CACHE_DIR"] == "/nonexistent-cache"


def test_prepare_gpt2_small_text(tmp_path):
    src = tmp_path / "in.txt"
    text = "Hello, I'm a language model, " * 40 + "and this is the end."
    src.write_text(text, encoding="utf-8")
    meta = data.prepare(src, "gpt2", tmp_path / "ds", val_fraction=0.25)
    train = np.fromfile(tmp_path / "ds" / "train.bin", dtype=np.uint16)
    val = np.fromfile(tmp_path / "ds" / "val.bin", dtype=np.uint16)
    assert meta["tokenizer"] == "gpt2" and meta["vocab_size"] == 50257
    assert (meta["train_tokens"], meta["val_tokens"]) == (len(train), len(val))
    assert json.loads((tmp_path / "ds" / "meta.json").read_text()) == meta
    assert train[:8].tolist() == [15496, 11, 314, 1101, 257, 3303, 2746, 11]
    # the split is by characters, like nanoGPT: decoding gives the text back
    tok = data.GPT2Tokenizer()
    assert tok.decode(train.tolist()) + tok.decode(val.tolist()) == text
    ds = data.load_dataset(str(tmp_path / "ds"))
    assert isinstance(ds.train, np.memmap) and ds.vocab_size == 50257


def test_prepare_char_unicode(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("héllo wörld ✓ " * 20, encoding="utf-8")
    meta = data.prepare(src, "char", tmp_path / "ds")
    assert meta["chars"] == "".join(sorted(set("héllo wörld ✓ ")))
    ds = data.load_dataset(str(tmp_path / "ds"))
    tok = data.tokenizer_from_meta(ds.meta)
    assert tok.decode(ds.train.tolist()) + tok.decode(ds.val.tolist()) == "héllo wörld ✓ " * 20


@pytest.mark.parametrize("setup,words", [
    (lambda d: None, "not an embedded dataset"),
    (lambda d: d.mkdir(), "meta.json: cannot read dataset metadata"),
])
def test_bad_dataset_directory_errors_name_the_file(tmp_path, setup, words):
    target = tmp_path / "nope"
    setup(target)
    with pytest.raises(data.DataError, match=words):
        data.load_dataset(str(target))


def test_prepare_refuses_unreadable_or_tiny_input(tmp_path):
    with pytest.raises(data.DataError, match="cannot read"):
        data.prepare(tmp_path / "missing.txt", "char", tmp_path / "o")
    (tmp_path / "t.txt").write_text("ab")
    with pytest.raises(data.DataError, match="too little text"):
        data.prepare(tmp_path / "t.txt", "char", tmp_path / "o")
    (tmp_path / "b.bin").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(data.DataError, match="UTF-8"):
        data.prepare(tmp_path / "b.bin", "char", tmp_path / "o")


def test_batches_are_shifted_windows_and_seeded():
    tokens = np.arange(1000, dtype=np.uint16)
    b = data.Batches(tokens, block_size=8, batch_size=4, device=torch.device("cpu"), seed=1)
    x, y = b.next()
    assert x.shape == y.shape == (4, 8) and x.dtype == torch.int64
    assert torch.equal(y, x + 1)  # consecutive tokens: y is x shifted by one
    assert torch.equal(x[:, 1:], x[:, :-1] + 1)
    again = data.Batches(tokens, 8, 4, torch.device("cpu"), seed=1).next()[0]
    assert torch.equal(x, again)
    # pending_state reproduces the most recent batch (what resume relies on)
    b.generator.set_state(b.pending_state())
    assert torch.equal(b.next()[0], x)
