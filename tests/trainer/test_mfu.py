"""MFU arithmetic against hand-computed values, and where the trainer takes its peak from
(the table itself is tested in tests/gptscope/test_peaks.py)."""
import pytest

from trainer import mfu


def test_flops_gpt2_124m_by_hand():
    # GPT-2 small as nanoGPT builds it (vocab 50304, no biases), without position embeddings:
    # wte 50304*768 = 38,633,472; per block 2*768 (norms) + 12*768^2 = 7,079,424, x12 =
    # 84,953,088; final norm 768 -> N = 123,587,328 (nanoGPT prints "123.59M").
    # 6N = 741,523,968 ; 12*L*H*Q*T = 12*12*12*64*1024 = 113,246,208
    assert mfu.flops_per_token(123_587_328, 12, 12, 64, 1024) == 854_770_176
    # one step of 12 x 1024 tokens x 40 micro-steps = 491,520 tokens
    assert mfu.flops_per_iter(123_587_328, 12, 12, 768, 1024, 491_520) \
        == 420_136_636_907_520
    # at 1.0 s per step on an A100 (312 TFLOP/s): 1.3466 (i.e. such a step is impossible)
    assert mfu.mfu(420_136_636_907_520, 1.0, 312e12) == pytest.approx(1.34659178496)
    # at 1.0 s on an H100 SXM (989 TFLOP/s): 42.5%
    assert mfu.mfu(420_136_636_907_520, 1.0, 989e12) == pytest.approx(0.424809537)


def test_flops_cpu_recipe_by_hand():
    # 4 layers, 4 heads, 128 wide, block 64, vocab 65: N = 65*128 + 4*(2*128 + 12*128*128)
    #   + 128 = 8,320 + 787,456 + 128 = 795,904 (no biases)
    n = 65 * 128 + 4 * (2 * 128 + 12 * 128 * 128) + 128
    assert n == 795_904
    # 6N = 4,775,424 ; 12*4*4*32*64 = 393,216 -> 5,168,640 per token; 768 tokens per step
    assert mfu.flops_per_iter(795_904, 4, 4, 128, 64, 12 * 64) == 5_168_640 * 768
    # 3,969,515,520 FLOPs in 40 ms at a 200 GFLOP/s peak = 49.6%
    assert mfu.mfu(5_168_640 * 768, 0.040, 200e9) == pytest.approx(0.49618944)


def test_model_param_counts_match_the_hand_counts():
    import torch
    from trainer.model import GPT, GPTConfig
    model = GPT(GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128))
    assert model.num_params() == 795_904
    with torch.device("meta"):  # shapes only: no memory, no time
        gpt2 = GPT(GPTConfig(vocab_size=50304, block_size=1024))
    assert gpt2.num_params() == 123_587_328


def test_resolve_peak_sources():
    assert mfu.resolve_peak("cuda", "NVIDIA H20", 0.0)[:2] == (148e12, "table:h20")
    assert mfu.resolve_peak("cuda", "NVIDIA H20", 100.0) == (100e12, "user", None)
    peak, source, warning = mfu.resolve_peak("cuda", "Mystery GPU 9000", 0.0)
    assert peak is None and source == "unknown" and "Mystery GPU 9000" in warning
    peak, source, warning = mfu.resolve_peak("cuda", "NVIDIA A10G", 0.0)
    assert peak is None and source == "unknown"  # not the A10's 125: a guess
    peak, source, warning = mfu.resolve_peak("mps", "mps", 0.0)
    assert peak is None and source.startswith("unknown: not comparable")
    assert "Apple" in warning
    assert mfu.resolve_peak("mps", "mps", 10.0)[:2] == (10e12, "user")
    peak, source, warning = mfu.resolve_peak("cpu", "some cpu", 0.0)
    assert source == "measured:cpu-matmul" and 1e8 < peak < 1e14 and warning is None


def test_mfu_unknown_peak_is_none_not_a_sentinel():
    assert mfu.mfu(1e12, 1.0, None) is None
