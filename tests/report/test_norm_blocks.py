"""The report sketches a network with norms as blocks: each norm with its eps, each sample's
shape after it (a norm keeps the shape)."""

from __future__ import annotations

from pathlib import Path

from gradcheck.report.blocks import layer_blocks
from gradcheck.spec import load_spec

BUILTIN = Path(__file__).resolve().parents[2] / "networks" / "mlp_batchnorm_dropout.toml"


def test_the_builtin_norm_network_is_drawn_as_blocks_with_each_shape() -> None:
    blocks = layer_blocks(load_spec(BUILTIN))
    assert [(b["caption"], b["shape"]) for b in blocks] == [
        ("input", "3"),
        ("dense tanh", "4"),
        ("batch_norm eps 1e-05", "4"),
        ("dropout rate 0.25", "4"),
        ("dense softmax", "3"),
    ]
