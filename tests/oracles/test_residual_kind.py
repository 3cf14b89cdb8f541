"""Three sides agree on networks with residual blocks: hand-derived = JAX = finite differences.

Each side composes a block from its own kinds and activations, so the networks here put inside
blocks what the generator does not: a conv stage with padding that keeps the image's shape,
dropout, a nested block, weight decay on the inner weights. Drawn residual MLPs in float64 and
float32 (the generator's blocks of dense layers) agree too (Hypothesis draws them as well, with
every kind allowed: ``test_image_kinds``), and the random-direction finite differences (the
block run along a direction, not extrapolated) agree with the hand gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import assert_three_sides_agree

from gradcheck.checking.verification import verify
from gradcheck.generate.strategies import Case, sample_networks
from gradcheck.hand import hand_grads
from gradcheck.spec import Spec, parse_spec

KINDS = ("dense", "residual")


def _spec(shape: list[int], layers: list[dict[str, Any]], n_out: int, decay: float) -> Spec:
    rng = np.random.default_rng(5)
    n_in = int(np.prod(shape))
    samples = [
        {"input": rng.uniform(-1, 1, n_in).tolist(), "target": rng.uniform(0, 1, n_out).tolist()}
        for _ in range(3)
    ]
    return parse_spec(
        {
            "name": "blocks",
            "loss": "half_sse",
            "weight_decay": decay,
            "input": {"shape": shape},
            "layers": layers,
            "samples": samples,
        }
    )


def _init(seed: int) -> dict[str, Any]:
    return {"rule": "normal", "scale": 0.5, "seed": seed}


IMAGE_BLOCK = _spec(
    [2, 4, 4],
    [
        {
            "kind": "residual",
            "activation": "tanh",
            "layers": [
                {"kind": "conv2d", "channels": 3, "kernel": 3, "padding": 1,
                 "activation": "sigmoid", "init": _init(1), "bias": {"mode": "per_neuron"}},
                {"kind": "dropout", "rate": 0.5, "seed": 3},
                {"kind": "conv2d", "channels": 2, "kernel": 1, "init": _init(2)},
            ],
        },
        {"kind": "avg_pool2d", "kernel": 2},
        {"kind": "flatten"},
        {"size": 2, "init": _init(3)},
    ],
    2,
    0.05,
)  # fmt: skip
_elu = {"size": 3, "activation": "elu", "init": _init(7)}
NESTED = _spec(
    [3],
    [
        {"size": 3, "activation": "tanh", "init": _init(4)},
        {
            "kind": "residual",
            "activation": "leaky_relu",
            "slope": 0.1,
            "layers": [
                {"size": 4, "activation": "softplus", "init": _init(5), "bias": {"mode": "shared"}},
                {"size": 3, "init": _init(6)},
                {"kind": "residual", "layers": [_elu]},
            ],
        },
        {"size": 2, "init": _init(8)},
    ],
    2,
    0.1,
)  # fmt: skip


NORMED = _spec(
    [3],
    [
        {
            "kind": "residual",
            "activation": "relu",
            "layers": [
                {"size": 3, "activation": "tanh", "init": _init(9)},
                {"kind": "batch_norm", "gamma": {"value": [1.5, 0.5, -1.0]}},
                {"size": 3, "init": _init(10)},
                {"kind": "layer_norm"},
            ],
        },
        {"size": 2, "init": _init(11)},
    ],
    2,
    0.02,
)  # a norm's error terms need the block's inner values, not only their magnitudes


@pytest.mark.parametrize(
    "spec", [IMAGE_BLOCK, NESTED, NORMED], ids=["image-block", "nested", "norms"]
)
def test_blocks_of_every_kind_agree_on_three_sides(spec: Spec) -> None:
    assert "residual" in spec.kinds and spec.weight_decay > 0
    case = Case.from_spec(spec)
    assert_three_sides_agree(case)
    assert any("." in group for layer in case.params for group in layer)
    assert verify(hand_grads, spec, mode="projection").ok


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_hand_jax_and_finite_differences_agree_on_residual_mlps(dtype: str) -> None:
    (case,) = sample_networks(1, 3, kinds=KINDS, dtypes=(dtype,))
    assert "residual" in case.spec.kinds  # the plan gives the first case a block
    assert_three_sides_agree(case)
