"""What gradcheck knows by name, declared once: layer kinds, activations, losses, update rules.

A layer kind is one unit: :class:`LayerKind` gathers its TOML table and checks, its parameter
groups and their initial values, the shape it maps a sample to, its display names and its
diagram glyph (``dense``, ``conv2d``, ``max_pool2d``, ``avg_pool2d``, ``dropout``, ``flatten``,
``batch_norm``, ``layer_norm``, ``rnn``, ``residual``: :mod:`~gradcheck.layers.dense`,
:mod:`~gradcheck.layers.conv`, :mod:`~gradcheck.layers.pooling`, :mod:`~gradcheck.layers.dropout`,
:mod:`~gradcheck.layers.norms`, :mod:`~gradcheck.layers.rnn`, :mod:`~gradcheck.layers.residual`).
Each independent side registers its own implementation of
every kind, activation and loss under the declared name in a
:class:`~gradcheck.layers.registry.Registry`;
an unknown name raises :class:`~gradcheck.layers.registry.UnknownName`. Adding a kind is its
declaration here plus one registration per side.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradcheck.layers import conv, dense, dropout, norms, pooling, residual, rnn
from gradcheck.layers.activations import ACTIVATIONS, ActivationInfo, activation_info
from gradcheck.layers.losses import LOSSES, WEIGHT_DECAY, LossInfo, loss_info
from gradcheck.layers.registry import Registry, UnknownName
from gradcheck.layers.tables import Numbers
from gradcheck.layers.update_rules import GRADIENT_DESCENT, OUTPUT_FIRST, UPDATE_RULES

__all__ = [
    "ACTIVATIONS",
    "GRADIENT_DESCENT",
    "KINDS",
    "LAYER_LEVEL_KINDS",
    "LAYER_ONLY_KINDS",
    "LOSSES",
    "OUTPUT_FIRST",
    "UPDATE_RULES",
    "WEIGHT_DECAY",
    "ActivationInfo",
    "LayerKind",
    "LossInfo",
    "Registry",
    "Shape",
    "UnknownName",
    "activation_info",
    "decayed_groups",
    "kind_of",
    "loss_info",
]


Shape = tuple[int, ...]  # one sample's shape: (n,) for a vector, (C, H, W) for an image


@dataclass(frozen=True)
class LayerKind:
    """Everything about one layer kind that is not a side's implementation.

    ``problems(table, field path, in_shape)`` lists what is wrong with a table fed samples of
    ``in_shape``; once none is, ``shape_after(table, in_shape)`` is the shape of its output and
    ``groups(table, in_shape, dtype)`` its parameter groups. ``options(table)``: the hashable
    settings every side's forward needs besides the groups (a conv's stride and padding).
    ``activated``: the table has an activation (else its activation is the identity)."""

    name: str
    table: type[Any]  # the pydantic model of its ``[[layers]]`` table
    glyph: str  # how the report's diagram draws it
    forward: str  # its forward pass, for people (the candidate contract prints it)
    problems: Callable[[Any, str, Shape], list[str]]
    shape_after: Callable[[Any, Shape], Shape]
    n_params: Callable[[Any, Shape], int]  # an upper bound on the parameter count
    groups: Callable[[Any, Shape, np.dtype[Any]], dict[str, tuple[np.ndarray, bool]]]
    param_names: Callable[[Any, int], Iterator[tuple[str, tuple[int, str, tuple[int, ...]]]]]
    unit_names: Callable[[Any], list[str]]
    named: Callable[[Any, str], Iterator[tuple[str, str]]]
    numbers: Callable[[Any, str], Numbers]  # its real numbers and their paths, lists as runs
    options: Callable[[Any], dict[str, Any]]
    activated: bool
    # the parameter groups that count as weights for ``weight_decay`` (never biases): the one
    # place every side reads them from (through :func:`decayed_groups`)
    decayed: frozenset[str]
    # multiply-adds per sample of its forward pass (None: one per parameter, as for dense), so
    # that a run's arithmetic can be estimated before it is compiled
    multiply_adds: Callable[[Any, Shape], int] | None = None
    # where they depend on the table (a residual block's inner layers'): the table -> its groups
    decayed_of: Callable[[Any], frozenset[str]] | None = None
    # its groups' keys in ``params`` with their shapes, and the keys of ``spec.options``, for
    # people (the candidate contract prints it)
    parameters: str = ""


def _dense_problems(table: Any, at: str, shape: Shape) -> list[str]:
    if len(shape) != 1:
        return [
            f"{at}: dense takes one value per unit, its input has shape {list(shape)}: "
            "put a flatten layer before it"
        ]
    return dense.problems(table, at, shape[0])


def _nothing(*_: Any) -> Iterator[Any]:
    return iter(())


def _no_parameters(
    kind: str,
    table: type[Any],
    glyph: str,
    forward: str,
    problems: Any,
    shape_after: Any,
    options: Callable[[Any], dict[str, Any]],
    parameters: str,
) -> LayerKind:
    """A kind without parameters, names or an activation."""
    return LayerKind(
        kind,
        table,
        glyph,
        forward,
        problems,
        shape_after,
        lambda t, s: 0,
        lambda t, s, d: {},
        _nothing,
        lambda t: [],
        _nothing,
        _nothing,
        options,
        activated=False,
        decayed=frozenset(),
        parameters=parameters,
    )


_POOL_PARAMETERS = "no groups; options `kernel` and `stride`, each a (rows, columns) pair of ints"
KINDS: dict[str, LayerKind] = {
    "dense": LayerKind(
        "dense",
        dense.DenseLayer,
        dense.GLYPH,
        dense.FORWARD,
        _dense_problems,
        lambda t, s: (t.size,),
        lambda t, s: dense.n_params(t, s[0]),
        lambda t, s, d: dense.groups(t, s[0], d),
        dense.param_names,
        dense.unit_names,
        dense.named,
        dense.numbers,
        lambda t: {},
        activated=True,
        decayed=dense.DECAYED,
        parameters="groups `W` (n_out, n_in) and `b` (n_out,) or 0-d; no options",
    ),
    "conv2d": LayerKind(
        "conv2d",
        conv.Conv2dLayer,
        conv.GLYPH,
        conv.FORWARD,
        conv.problems,
        conv.shape_after,
        conv.n_params,
        conv.groups,
        _nothing,
        lambda t: [],
        _nothing,
        conv.numbers,
        conv.options,
        activated=True,
        decayed=conv.DECAYED,
        multiply_adds=conv.multiply_adds,
        parameters="groups `W` (F, C, kh, kw) and `b` (F,) or 0-d; options `stride` and "
        "`padding`, ints",
    ),
    **{
        name: _no_parameters(
            name,
            pooling.PoolLayer,
            pooling.POOL_GLYPH,
            forward,
            pooling.pool_problems,
            pooling.pool_shape_after,
            pooling.pool_options,
            _POOL_PARAMETERS,
        )
        for name, forward in (
            ("max_pool2d", pooling.MAX_FORWARD),
            ("avg_pool2d", pooling.AVG_FORWARD),
        )
    },
    "dropout": _no_parameters(
        "dropout",
        dropout.DropoutLayer,
        dropout.GLYPH,
        dropout.FORWARD,
        dropout.problems,
        dropout.shape_after,
        dropout.options,
        "no groups; options `rate` (a float) and `seed` (an int), which make the mask",
    ),
    "flatten": _no_parameters(
        "flatten",
        pooling.FlattenLayer,
        pooling.FLATTEN_GLYPH,
        pooling.FLATTEN_FORWARD,
        pooling.flatten_problems,
        pooling.flatten_shape_after,
        lambda t: {},
        "no groups; no options",
    ),
    "residual": LayerKind(
        "residual",
        residual.ResidualLayer,
        residual.GLYPH,
        residual.FORWARD,
        lambda t, at, s: residual.problems(t, at, s, kind_of),
        lambda t, s: s,
        lambda t, s: residual.n_params(t, s, kind_of),
        lambda t, s, d: residual.groups(t, s, d, kind_of),
        lambda t, i: residual.param_names(t, i, kind_of),
        lambda t: [],
        lambda t, at: residual.named(t, at, kind_of),
        lambda t, at: residual.numbers(t, at, kind_of),
        lambda t: residual.options(t, kind_of),
        activated=True,
        decayed=frozenset(),
        decayed_of=lambda t: residual.decayed(t, kind_of),
        parameters="its inner layers' groups as `j.G` (`0.W`, `1.b`); option `layers`, per inner "
        "layer (kind, its options as sorted (key, value) pairs, activation, slope)",
    ),
    "rnn": LayerKind(
        "rnn",
        rnn.RnnLayer,
        rnn.GLYPH,
        rnn.FORWARD,
        rnn.problems,
        rnn.shape_after,
        rnn.n_params,
        rnn.groups,
        _nothing,
        lambda t: [],
        _nothing,
        rnn.numbers,
        rnn.options,
        activated=False,
        decayed=rnn.DECAYED,
        multiply_adds=lambda t, s: rnn.n_params(t, s) * s[0],  # its weights once per time step
        parameters="groups `Wxh` (H, n_in), `Whh` (H, H) and `b` (H,) or 0-d; option "
        "`all_states`, a bool (every state, or the last)",
    ),
    **{
        name: LayerKind(
            name,
            table,
            norms.GLYPH,
            forward,
            norms.problems,
            norms.shape_after,
            norms.n_params,
            norms.groups,
            _nothing,
            lambda t: [],
            _nothing,
            norms.numbers,
            norms.options,
            activated=False,
            decayed=norms.DECAYED,
            parameters=parameters,
        )
        for name, table, forward, parameters in (
            (
                "batch_norm",
                norms.BatchNormLayer,
                norms.BATCH_FORWARD,
                "groups `gamma` and `beta`, (D,) or (C,), one per feature or channel; option "
                "`eps`, a float",
            ),
            (
                "layer_norm",
                norms.LayerNormLayer,
                norms.LAYER_FORWARD,
                "groups `gamma` and `beta`, shaped like one sample: (D,) or (C, H, W); option "
                "`eps`, a float",
            ),
        )
    },
}


LAYER_ONLY_KINDS: tuple[str, ...] = ()
"""Kinds checked layer by layer only (``verify_layer``), not yet layers of a whole network."""
LAYER_LEVEL_KINDS: frozenset[str] = frozenset(KINDS) | frozenset(LAYER_ONLY_KINDS)
"""Every kind ``verify_layer`` checks: each whole-network kind, and the layer-only ones."""


def decayed_groups(layer: Any) -> frozenset[str]:
    """The groups of a layer table that ``weight_decay`` applies to (its kind's declaration)."""
    kind = kind_of(layer)
    return kind.decayed if kind.decayed_of is None else kind.decayed_of(layer)


def kind_of(layer: Any) -> LayerKind:
    """The declaration of a layer table's kind; an undeclared kind raises ``UnknownName``."""
    name = getattr(layer, "kind", None)
    if name not in KINDS:
        raise UnknownName(f"no layer kind named {name!r} (declared: {', '.join(KINDS)})")
    return KINDS[name]
