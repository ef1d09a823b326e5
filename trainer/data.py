"""Datasets and tokenizers: the embedded Tiny Shakespeare, `prepare` for any text, batches.

A prepared dataset is a directory with ``train.bin`` and ``val.bin`` (token ids as uint16,
read through np.memmap, the nanoGPT layout) and ``meta.json`` (the tokenizer and its
vocabulary: JSON, never pickle).
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

EMBEDDED = {"shakespeare_char": "char", "shakespeare": "gpt2"}
VAL_FRACTION = 0.1
# tiktoken looks for sha1(<download URL>) in $TIKTOKEN_CACHE_DIR (see shared/data/SOURCES.md).
_TIKTOKEN_CACHE_NAMES = {"vocab.bpe": "6d1cbeee0f20b3d9449abfede4726ed8212e3aee",
                         "encoder.json": "6c7ea1a7e38e3a7f062df639a5b80947f075ffe6"}


class DataError(ValueError):
    """A dataset cannot be read or prepared; the message names the file."""


def package_file(*parts: str) -> Path:
    """A data file shipped inside the package (declared as package-data in pyproject)."""
    return Path(__file__).resolve().parent.joinpath("data", *parts)


# --- tokenizers ----------------------------------------------------------------------------

class CharTokenizer:
    """One token per character, ids in code-point order (nanoGPT's shakespeare_char)."""
    name = "char"

    def __init__(self, chars: str):
        self.chars = chars
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.vocab_size = len(chars)

    @classmethod
    def fit(cls, text: str) -> tuple["CharTokenizer", np.ndarray]:
        """Build the vocabulary of text and encode it in one vectorised pass."""
        if not text:
            raise DataError("cannot build a character vocabulary from empty text")
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        uniq, ids = np.unique(codes, return_inverse=True)
        if len(uniq) > 65535:
            raise DataError(f"{len(uniq)} distinct characters do not fit in uint16 tokens")
        return cls("".join(map(chr, uniq))), ids.astype(np.uint16)

    def encode(self, text: str) -> list[int]:
        return [self.stoi[c] for c in text if c in self.stoi]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids if i < self.vocab_size)

    def meta(self) -> dict[str, Any]:
        return {"tokenizer": "char", "vocab_size": self.vocab_size, "chars": self.chars}


class GPT2Tokenizer:
    """GPT-2 BPE through tiktoken, from the encoding files shipped in the package: no
    network needed."""
    name = "gpt2"

    def __init__(self) -> None:
        self.enc = gpt2_encoding()
        self.vocab_size = self.enc.n_vocab  # 50257
        self.eot = self.enc.eot_token

    def encode(self, text: str) -> list[int]:
        return self.enc.encode_ordinary(text)

    def decode(self, ids: list[int]) -> str:
        return self.enc.decode([i for i in ids if i < self.vocab_size])

    def meta(self) -> dict[str, Any]:
        return {"tokenizer": "gpt2", "vocab_size": self.vocab_size}


def gpt2_encoding() -> Any:
    """tiktoken's "gpt2" encoding, loaded offline from the package's copies of OpenAI's files.

    tiktoken reads them from $TIKTOKEN_CACHE_DIR under hashed names (and checks their sha256),
    so they are copied to a temporary cache for the one load; tiktoken keeps the encoding in
    memory afterwards. The caller's environment is restored."""
    try:
        import tiktoken
    except ImportError:  # an optional dependency: say which, instead of a traceback
        raise DataError("GPT-2 BPE needs the tiktoken package: pip install 'gptscope[train]' "
                        "(or pip install tiktoken)") from None
    from tiktoken.registry import ENCODINGS  # already loaded in this process: reuse it
    if "gpt2" in ENCODINGS:
        return ENCODINGS["gpt2"]
    cache = tempfile.mkdtemp(prefix="gptscope-tiktoken-")
    old = os.environ.get("TIKTOKEN_CACHE_DIR")
    try:
        for name, hashed in _TIKTOKEN_CACHE_NAMES.items():
            shutil.copyfile(package_file("gpt2", name), os.path.join(cache, hashed))
        os.environ["TIKTOKEN_CACHE_DIR"] = cache
        return tiktoken.get_encoding("gpt2")
    finally:
        if old is None:
            os.environ.pop("TIKTOKEN_CACHE_DIR", None)
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = old
        shutil.rmtree(cache, ignore_errors=True)


def tokenizer_from_meta(meta: dict[str, Any]) -> CharTokenizer | GPT2Tokenizer:
    if meta.get("tokenizer") == "char":
        return CharTokenizer(meta["chars"])
    if meta.get("tokenizer") == "gpt2":
        return GPT2Tokenizer()
    raise DataError(f"unknown tokenizer {meta.get('tokenizer')!r} in dataset metadata")


# --- datasets ------------------------------------------------------------------------------

@dataclass
class Dataset:
    """Token ids of the train and val splits (in memory or memory-mapped) and their meta."""
    name: str
    train: np.ndarray
    val: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def vocab_size(self) -> int:
        return int(self.meta["vocab_size"])


def split_text(text: str, val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """nanoGPT's split: the first 90% of the characters train, the rest validate."""
    n = int(len(text) * (1.0 - val_fraction))
    return text[:n], text[n:]


def tokenize_splits(text: str, tokenizer: str, val_fraction: float = VAL_FRACTION
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    if tokenizer == "char":
        tok, ids = CharTokenizer.fit(text)
        n = int(len(text) * (1.0 - val_fraction))
        return ids[:n], ids[n:], tok.meta()
    if tokenizer == "gpt2":
        bpe = GPT2Tokenizer()
        train_text, val_text = split_text(text, val_fraction)
        return (np.array(bpe.encode(train_text), dtype=np.uint16),
                np.array(bpe.encode(val_text), dtype=np.uint16), bpe.meta())
    raise DataError(f"unknown tokenizer {tokenizer!r}; use char or gpt2")


def load_dataset(spec: str) -> Dataset:
    """The embedded corpus by name (tokenized in memory: a second or less), or a prepared
    directory (memory-mapped, so corpora larger than RAM work)."""
    if spec in EMBEDDED:
        text = package_file("tinyshakespeare.txt").read_text(encoding="utf-8")
        train, val, meta = tokenize_splits(text, EMBEDDED[spec])
        return Dataset(spec, train, val, {**meta, "source": "tinyshakespeare.txt"})
    path = Path(spec)
    meta_path = path / "meta.json"
    if not path.is_dir():
        raise DataError(f"{spec}: not an embedded dataset ({', '.join(EMBEDDED)}) "
                        f"nor a directory")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        int(meta["vocab_size"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{meta_path}: cannot read dataset metadata ({e})") from None
    splits = []
    for split in ("train", "val"):
        f = path / f"{split}.bin"
        try:
            splits.append(np.memmap(f, dtype=np.uint16, mode="r"))
        except (OSError, ValueError) as e:
            raise DataError(f"{f}: cannot read token file ({e})") from None
    return Dataset(str(path), splits[0], splits[1], meta)


def prepare(input_path: str | Path, tokenizer: str, out_dir: str | Path,
            val_fraction: float = VAL_FRACTION) -> dict[str, Any]:
    """Tokenize a UTF-8 text file into out_dir/{train,val}.bin + meta.json; returns the meta."""
    input_path, out_dir = Path(input_path), Path(out_dir)
    if not 0.0 < val_fraction < 1.0:
        raise DataError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    try:
        text = input_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{input_path}: cannot read as UTF-8 text ({e})") from None
    train, val, meta = tokenize_splits(text, tokenizer, val_fraction)
    if len(train) < 2 or len(val) < 2:
        raise DataError(f"{input_path}: too little text ({len(train)} train and {len(val)} "
                        f"val tokens)")
    meta = {**meta, "source": input_path.name, "train_tokens": int(len(train)),
            "val_tokens": int(len(val)), "dtype": "uint16"}
    out_dir.mkdir(parents=True, exist_ok=True)
    train.tofile(out_dir / "train.bin")
    val.tofile(out_dir / "val.bin")
    (out_dir / "meta.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return meta


# --- batches -------------------------------------------------------------------------------

class Batches:
    """Random (x, y) windows of block_size tokens from one split, y shifted by one.

    Indices come from their own torch.Generator so that the data order is seeded, and can
    be saved and restored on resume independently of dropout's RNG."""

    def __init__(self, data: np.ndarray, block_size: int, batch_size: int,
                 device: torch.device, seed: int):
        self.data, self.block_size, self.batch_size = data, block_size, batch_size
        self.device = device
        self.generator = torch.Generator().manual_seed(seed)
        self.offsets = np.arange(block_size + 1)
        self._state_before_last: torch.Tensor | None = None

    def pending_state(self) -> torch.Tensor:
        """Generator state that reproduces the most recent batch: a checkpoint taken while
        that batch is prefetched but not yet trained on resumes with exactly that batch."""
        if self._state_before_last is None:
            return self.generator.get_state()
        return self._state_before_last

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._state_before_last = self.generator.get_state()
        ix = torch.randint(len(self.data) - self.block_size, (self.batch_size,),
                           generator=self.generator).numpy()
        # one fancy-index read of (B, T+1) tokens: on a memmap this touches only those pages
        buf = torch.from_numpy(self.data[ix[:, None] + self.offsets].astype(np.int64))
        x, y = buf[:, :-1].contiguous(), buf[:, 1:].contiguous()
        if self.device.type == "cuda":
            # pinned memory lets the copy overlap with compute (non_blocking)
            return (x.pin_memory().to(self.device, non_blocking=True),
                    y.pin_memory().to(self.device, non_blocking=True))
        return x.to(self.device), y.to(self.device)
