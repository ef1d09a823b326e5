"""The model: shapes, initial loss, parameter accounting, weight tying, vocab padding."""
import math

import pytest
import torch

from trainer.model import GPT, GPTConfig, padded_vocab


def small(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{"vocab_size": 65, "block_size": 32, "n_layer": 2, "n_head": 2,
                            "n_embd": 16, **kw}))


def test_forward_shapes_training_and_generation():
    model = small()
    idx = torch.randint(0, 65, (3, 32))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 32, 65) and loss.shape == ()
    logits, loss = model(idx)  # generation path: last position only
    assert logits.shape == (3, 1, 65) and loss is None
    out = model.generate(idx[:, :5], max_new_tokens=40)  # longer than block_size: cropped
    assert out.shape == (3, 45) and out.max() < 65


@pytest.mark.parametrize("vocab", [65, 50257])
def test_initial_loss_is_close_to_uniform(vocab):
    model = small(vocab_size=padded_vocab(vocab, True), n_embd=32)
    idx, targets = torch.randint(0, vocab, (2, 8, 32))
    with torch.no_grad():
        _, loss = model(idx, targets)
    # an untrained model is about uniform over the (padded) vocabulary (targets differ from
    # the inputs: with tied embeddings, "predict the input token" is already a little better)
    assert abs(loss.item() - math.log(padded_vocab(vocab, True))) < 0.1


def test_parameter_count_excludes_position_embeddings_and_counts_tied_weights_once():
    model = small(bias=True)
    C, V, T, L = 16, 65, 32, 2
    per_block = (2 * 2 * C            # two LayerNorms with bias
                 + 3 * C * C + 3 * C  # qkv projection
                 + C * C + C          # attention output projection
                 + 4 * C * C + 4 * C  # MLP up
                 + 4 * C * C + C)     # MLP down
    expected = V * C + L * per_block + 2 * C  # wte (= lm_head) + blocks + final LayerNorm
    assert model.num_params() == expected
    assert model.num_params(non_embedding=False) == expected + T * C
    assert model.lm_head.weight is model.transformer.wte.weight


def test_no_bias_means_no_bias_parameters():
    names = [n for n, _ in small(bias=False).named_parameters()]
    assert not any(n.endswith(".bias") for n in names)


def test_vocab_padding_only_for_large_vocabularies():
    assert padded_vocab(50257, True) == 50304 and padded_vocab(50304, True) == 50304
    assert padded_vocab(65, True) == 65 and padded_vocab(50257, False) == 50257


def test_sequence_longer_than_block_size_is_refused():
    with pytest.raises(ValueError, match="block_size"):
        small()(torch.zeros(1, 33, dtype=torch.long))


def test_causality_future_tokens_do_not_change_past_logits():
    model = small().eval()
    a = torch.randint(0, 65, (1, 32))
    b = a.clone()
    b[0, 20:] = (b[0, 20:] + 1) % 65
    with torch.no_grad():
        la, _ = model(a, a)
        lb, _ = model(b, b)
    assert torch.allclose(la[0, :20], lb[0, :20], atol=1e-6)
    assert not torch.allclose(la[0, 20:], lb[0, 20:])
