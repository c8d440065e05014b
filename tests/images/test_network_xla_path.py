"""The network's gather + scatter-add path (``bag_ids``, what training uses on XLA) computes
what ``EmbeddingBag`` computes (what CPU/GPU training and serving use), forward and backward,
with the zero-weight padding the XLA branch appends to the last bag."""

from __future__ import annotations

import torch
from ml_common import features
from ml_common.model import build_network


def _batch(rows: int, buckets: int, pad: int, seed: int = 3):
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, 9, (rows,), generator=generator)
    indices = torch.randint(0, buckets, (int(lengths.sum()),), generator=generator)
    weights = torch.rand(len(indices), generator=generator)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)[:-1]])
    bag_ids = torch.repeat_interleave(torch.arange(rows), lengths)
    # The XLA branch's padding: index 0 with weight 0, counted in the last bag.
    indices = torch.cat([indices, torch.zeros(pad, dtype=torch.long)])
    weights = torch.cat([weights, torch.zeros(pad)])
    bag_ids = torch.cat([bag_ids, torch.full((pad,), rows - 1)])
    numeric = torch.rand(rows, len(features.NUMERIC_FEATURES), generator=generator)
    return indices, offsets, weights, numeric, bag_ids


def test_bag_ids_path_matches_embedding_bag_forward_and_backward():
    torch.manual_seed(0)
    network = build_network(64, 8, 16, 5, 0.0)
    indices, offsets, weights, numeric, bag_ids = _batch(rows=12, buckets=64, pad=13)

    def run(bags):
        network.zero_grad()
        out = network(indices, offsets, weights, numeric, bags)
        out.square().sum().backward()
        return out.detach(), {k: p.grad.clone() for k, p in network.named_parameters()}

    expected, expected_grads = run(None)
    got, grads = run(bag_ids)
    assert expected.shape == (12, 5)
    torch.testing.assert_close(got, expected)
    for name, grad in expected_grads.items():
        torch.testing.assert_close(grads[name], grad, msg=f"gradient of {name} differs")
    assert expected_grads["embedding.weight"].abs().sum() > 0
