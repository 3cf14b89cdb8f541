"""The hand-derived side's layer-kind contract and registry.

A kind is a pair of functions over one layer's groups (trainable and frozen merged) and its
options (:attr:`gradcheck.spec.Spec.options`): ``forward(groups, x, options) -> (net, cache)``
keeps what its backward needs, ``backward(delta, cache, groups, wanted) -> (dx, grads)`` turns
``delta = dE/dnet`` into ``dE/dx`` and the gradients of the groups in ``wanted``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gradcheck.layers import Registry
from gradcheck.spec import Array

__all__ = ["HAND_KINDS", "Groups", "HandKind", "Options"]

Groups = dict[str, Array]
Options = Mapping[str, Any]


@dataclass(frozen=True)
class HandKind:
    """``forward(groups, x, options) -> (net, cache)``; ``backward(delta, cache, groups,
    wanted) -> (dE/dx, dE/d each group in wanted)``."""

    forward: Callable[[Groups, Array, Options], tuple[Array, Any]]
    backward: Callable[[Array, Any, Groups, frozenset[str]], tuple[Array, Groups]]


HAND_KINDS: Registry[HandKind] = Registry("hand-derived NumPy", "layer kind")
