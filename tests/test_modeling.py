"""The relation head's span pooling: a max over each span's own tokens."""

from __future__ import annotations

import torch

from clashwatch.modeling import RelationHead


def test_span_max_pooling_equals_a_masked_max_over_the_window():
    torch.manual_seed(0)
    head = RelationHead(8, label_dim=4, hidden_dim=16, dropout=0.0).eval()
    hidden = torch.randn(30, 8)
    spans = torch.tensor([[0, 0, 0], [3, 9, 2], [29, 29, 1], [10, 12, 4]])
    pairs = torch.tensor([[0, 1], [1, 2], [3, 0]])
    captured = {}
    head.mlp[0].register_forward_pre_hook(lambda module, args: captured.setdefault("x", args[0]))
    head(hidden, spans, pairs)
    pos = torch.arange(30)
    inside = (pos[None] >= spans[:, :1]) & (pos[None] <= spans[:, 1:2])
    expected = hidden[None].masked_fill(~inside[..., None], float("-inf")).amax(1)
    x = captured["x"]
    assert torch.equal(x[:, :8], expected[pairs[:, 0]])
    assert torch.equal(x[:, 8:16], expected[pairs[:, 1]])
