"""How the generator draws a norm layer: ``batch_norm`` or ``layer_norm`` after a hidden dense
layer of an MLP or after a conv stage of an image stem, where ``kinds=`` allows them.

One choice says whether a layer is followed by a norm (``Bounds.norm_choices``; it shrinks to
none), one which norm; then words for ``gamma`` (in ``[-2, 2]``, shrinking toward 1), ``beta``
(in ``[-1, 1]``, toward 0), ``eps`` and which groups are frozen, drawn at their largest and the
last ones used, as for weights.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.generate.sources import Source
from gradcheck.layers import KINDS, Shape

__all__ = ["NORM_KINDS", "NormDraw", "RawNorm", "norm_table"]

NORM_KINDS = ("batch_norm", "layer_norm")
EPS = (1e-5, 1e-3, 0.1)
Decode = Callable[..., NDArray[Any]]


@dataclass(frozen=True)
class RawNorm:
    """A norm's choices; its values stay words until the network's dtype is drawn."""

    kind: str
    eps: float
    gamma_trainable: bool
    beta_trainable: bool
    words: NDArray[np.uint16]  # gamma's words, then beta's, ``most`` each


@dataclass(frozen=True)
class NormDraw:
    """Draws whether a layer is followed by a norm (``choices``), and which of ``norms``;
    ``most`` is the largest number of values a group can have, ``frozen`` the groups that may be
    frozen (``"W"`` stands for gamma, ``"b"`` for beta)."""

    norms: tuple[str, ...]
    choices: tuple[bool, ...]
    most: int
    frozen: tuple[str, ...]

    def __call__(self, src: Source) -> RawNorm | None:
        if not self.norms or not src.choice(self.choices):
            return None
        kind = src.choice(self.norms)
        flags = src.integer(0, 4 * 4 * len(EPS) - 1)  # eps, then each group frozen one in four
        words = src.words(2 * self.most)
        return RawNorm(
            kind,
            EPS[flags % len(EPS)],
            "W" not in self.frozen or (flags // len(EPS)) % 4 != 3,
            "b" not in self.frozen or flags // (4 * len(EPS)) != 3,
            words,
        )


def norm_table(r: RawNorm, shape: Shape, dtype: str, decode: Decode) -> dict[str, Any]:
    """The spec table of a drawn norm fed samples of ``shape``."""
    n = shape[0] if r.kind == "batch_norm" else int(np.prod(shape))
    most = len(r.words) // 2
    gamma = decode(r.words[most - n : most], -2.0, 2.0, dtype, 1.0)
    beta = decode(r.words[2 * most - n :], -1.0, 1.0, dtype)
    table: dict[str, Any] = {
        "kind": r.kind,
        "eps": r.eps,
        "gamma": {"value": gamma.tolist(), "trainable": r.gamma_trainable},
        "beta": {"value": beta.tolist(), "trainable": r.beta_trainable},
    }
    KINDS[r.kind].table.model_validate(table)
    return table
