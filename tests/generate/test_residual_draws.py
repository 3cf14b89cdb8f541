"""The generator draws residual blocks into dense stacks when ``kinds`` allows them: each block
keeps its input's width, sits before a dense layer, and holds no relu unit near its kink."""

from __future__ import annotations

import numpy as np
from hypothesis import find, settings

from gradcheck.generate.bounds import KINK_MARGIN, KINKED
from gradcheck.generate.strategies import networks, sample_networks
from gradcheck.hand import forward

KINDS = ("dense", "residual")


def test_blocks_are_drawn_only_where_kinds_allows_them() -> None:
    assert all(c.spec.is_dense for c in sample_networks(8, 0, kinds=("dense",)))
    cases = sample_networks(8, 0, kinds=KINDS)
    blocks = [c for c in cases if "residual" in c.spec.kinds]
    assert blocks and blocks[0] is cases[0]  # the plan's first case has one
    for case in blocks:
        spec = case.spec
        i = spec.kinds.index("residual")
        assert spec.kinds[i + 1] == "dense" and spec.shapes[i] == spec.shapes[i + 1]
        inner = spec.model.layers[i].layers  # type: ignore[union-attr]
        assert 1 <= len(inner) <= 2 and all(t.kind == "dense" for t in inner)


def test_no_relu_inside_a_drawn_block_sits_near_its_kink() -> None:
    cases = sample_networks(12, 2, kinds=KINDS, activations=("relu",), output_activations=None)
    checked = 0
    for case in cases:
        fwd = forward(case.spec, case.params, case.inputs)
        for i, kind in enumerate(case.spec.kinds):
            if kind != "residual":
                continue
            block, inner = fwd.caches[i]
            for j, (_, _, act, _) in enumerate(inner):
                assert act not in KINKED or np.all(np.abs(block.nets[j]) >= KINK_MARGIN)
                checked += act in KINKED
    assert checked


def test_hypothesis_draws_residual_blocks_too() -> None:
    case = find(
        networks(kinds=KINDS, depth=(1, 2)),
        lambda c: "residual" in c.spec.kinds,
        settings=settings(database=None, max_examples=200),
    )
    assert case.spec.kinds[-1] == "dense"
