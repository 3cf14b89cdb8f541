"""What gradcheck knows by name, declared once: layer kinds, activations, losses, update rules.

A layer kind is one unit: :class:`LayerKind` gathers its TOML table and checks, its parameter
groups and their initial values, its display names and its diagram glyph (today ``dense``,
:mod:`gradcheck.layers.dense`). Each independent side registers its own implementation of every
kind, activation and loss under the declared name in a :class:`~gradcheck.layers.registry.Registry`;
an unknown name raises :class:`~gradcheck.layers.registry.UnknownName`. Adding a kind is its
declaration here plus one registration per side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.layers import dense
from gradcheck.layers.activations import ACTIVATIONS, ActivationInfo, activation_info
from gradcheck.layers.losses import LOSSES, WEIGHT_DECAY, LossInfo, loss_info
from gradcheck.layers.registry import Registry, UnknownName
from gradcheck.layers.update_rules import GRADIENT_DESCENT, OUTPUT_FIRST, UPDATE_RULES

__all__ = [
    "ACTIVATIONS",
    "GRADIENT_DESCENT",
    "KINDS",
    "LOSSES",
    "OUTPUT_FIRST",
    "UPDATE_RULES",
    "WEIGHT_DECAY",
    "ActivationInfo",
    "LayerKind",
    "LossInfo",
    "Registry",
    "UnknownName",
    "activation_info",
    "kind_of",
    "loss_info",
]


@dataclass(frozen=True)
class LayerKind:
    """Everything about one layer kind that is not a side's implementation."""

    name: str
    table: type[Any]  # the pydantic model of its ``[[layers]]`` table
    glyph: str  # how the report's diagram draws one of its units
    forward: str  # its forward pass, for people (the candidate contract prints it)
    problems: Callable[[Any, str, int], list[str]]  # (table, field path, n_in) -> problems
    n_params: Callable[[Any, int], int]  # (table, n_in) -> parameter count bound
    groups: Callable[[Any, int, np.dtype[Any]], dict[str, tuple[np.ndarray, bool]]]
    param_names: Callable[[Any, int], Iterator[tuple[str, tuple[int, str, tuple[int, ...]]]]]
    unit_names: Callable[[Any], list[str]]
    named: Callable[[Any, str], Iterator[tuple[str, str]]]
    numbers: Callable[[Any, str], Iterator[tuple[str, float]]]
    # the parameter groups that count as weights for ``weight_decay`` (never biases): the one
    # place every side reads them from
    decayed: frozenset[str]


KINDS: dict[str, LayerKind] = {
    "dense": LayerKind(
        "dense",
        dense.DenseLayer,
        dense.GLYPH,
        dense.FORWARD,
        dense.problems,
        dense.n_params,
        dense.groups,
        dense.param_names,
        dense.unit_names,
        dense.named,
        dense.numbers,
        dense.DECAYED,
    ),
}


def kind_of(layer: Any) -> LayerKind:
    """The declaration of a layer table's kind; an undeclared kind raises ``UnknownName``."""
    name = getattr(layer, "kind", None)
    if name not in KINDS:
        raise UnknownName(f"no layer kind named {name!r} (declared: {', '.join(KINDS)})")
    return KINDS[name]
