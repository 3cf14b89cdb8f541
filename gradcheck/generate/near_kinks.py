"""Which drawn networks sit near a kink: a relu-like unit, a kinked loss's margin or a max-pool
window's tie within :data:`~gradcheck.generate.bounds.KINK_MARGIN` of it, residual blocks' inner
units included (the generator redraws those unless asked for kinks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gradcheck.generate.bounds import KINK_MARGIN, KINKED
from gradcheck.generate.case import Case
from gradcheck.generate.images import pool_ties
from gradcheck.hand import forward
from gradcheck.layers import LOSSES

__all__ = ["near_kink"]


def near_kink(case: Case, kink_layer: int | None) -> bool:
    """A relu pre-activation within the margin of 0 that some parameter can move, or a kinked
    loss's margin (svm: ``s_j - s_y + 1``, ``j != y``) within it.

    It cannot move when the layer's inputs for that sample are all 0 and it has no trainable
    bias (a dead unit below stays dead under a small step), so those are kept.
    """
    spec = case.spec
    fwd = forward(spec, case.params, case.inputs)
    if LOSSES[spec.loss].kinked:
        s, t = fwd.outs[-1], case.targets
        margins = s - np.sum(s * t, axis=1, keepdims=True) + 1.0
        if np.any((np.abs(margins) < KINK_MARGIN) & (t == 0)):
            return True
    for i, kind in enumerate(spec.kinds):
        if kind == "residual" and _blocknear_kink(fwd.caches[i]):
            return True
        window: dict[str, Any] = dict(spec.options[i])
        if kind == "max_pool2d" and pool_ties(
            fwd.outs[i], window["kernel"], window["stride"], KINK_MARGIN
        ):
            return True
    for i, act in enumerate(spec.activations):
        if act not in KINKED:
            continue
        near = np.abs(fwd.nets[i]) < KINK_MARGIN
        if i == kink_layer:
            near[:, 0] = False
        batch = len(near)
        alive = np.any(fwd.outs[i].reshape(batch, -1) != 0, axis=1)
        alive = alive.reshape(batch, *[1] * (near.ndim - 1))
        movable = alive | spec.is_trainable(i, "b")
        if np.any(near & movable):
            return True
    return False


def _blocknear_kink(cache: Any) -> bool:
    """A relu-like pre-activation inside a residual block (the hand forward's cache: the block's
    nets and its inner layers) within the margin of 0, nested blocks included."""
    block, inner = cache
    for j, (kind, _, act, _) in enumerate(inner):
        if act in KINKED and np.any(np.abs(block.nets[j]) < KINK_MARGIN):
            return True
        if kind == "residual" and _blocknear_kink(block.caches[j]):
            return True
    return False
