"""Hypothesis strategies for networks, in the style of :mod:`hypothesis.extra.numpy`.

:func:`networks` draws a :class:`Case`: a valid :class:`~gradcheck.spec.Spec` (built through
:func:`~gradcheck.spec.parse_spec`, so every drawn network is one a user could write) together
with its trainable params, an input batch and targets. A case unpacks as
``(spec, params, inputs, targets)``, the arguments of every gradient function::

    @given(networks(depth=(1, 3), activations=("sigmoid", "tanh")))
    def test_my_backprop(case):
        assert verify(my_grads, *case).ok

Layers are drawn first, each whole (width, activation, bias and frozen flags, its values), then
the input width, loss, weight scale and batch. Every choice shrinks toward the simplest option
(fewer layers, narrower, ``identity``, no bias, trainable, ``half_sse``, weights and targets
toward 0, inputs toward 1) and any layer can be deleted whole, so a failure shrinks to the
smallest network that shows it. A failing case prints as ``Case.from_toml('''...''')``: the
network as a TOML spec, ready to save and replay with ``gradcheck verify``.

:func:`sample_networks` draws the same distribution of networks without Hypothesis, from a
seeded NumPy generator: deterministic for a seed, for the CLI and the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from gradcheck.generate.bounds import KINK_MARGIN as KINK_MARGIN
from gradcheck.generate.bounds import KINKED, Bounds, served_losses
from gradcheck.generate.bounds import LEAKY_SLOPES as LEAKY_SLOPES
from gradcheck.generate.bounds import SATURATING_SCALE as SATURATING_SCALE
from gradcheck.generate.case import Case
from gradcheck.generate.coverage import planned_bounds
from gradcheck.generate.draws import build_case
from gradcheck.generate.images import IMAGE_KINDS
from gradcheck.generate.sources import HypothesisSource, NumpySource, Redraw
from gradcheck.layers import ACTIVATIONS as DECLARED_ACTIVATIONS
from gradcheck.layers import KINDS as DECLARED_KINDS
from gradcheck.layers import LOSSES as DECLARED_LOSSES
from gradcheck.spec import ACTIVATIONS, LOSSES
from gradcheck.spec.family import BIAS_MODES, DTYPES, FROZEN_GROUPS, Family, load_family

__all__ = ["Case", "networks", "sample_networks"]


# -- argument checking -----------------------------------------------------------------------
def _int_pair(name: str, value: Any) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else _as_tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair):
        raise InvalidArgument(f"{name}={value!r}: expected an int or a (min, max) pair of ints")
    if not 1 <= pair[0] <= pair[1]:
        raise InvalidArgument(f"{name}={value!r}: need 1 <= min <= max")
    return pair[0], pair[1]


def _real_pair(name: str, value: Any, positive: bool) -> tuple[float, float]:
    pair = _as_tuple(value)
    if (
        len(pair) != 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        or not all(np.isfinite(pair))
        or pair[0] > pair[1]
    ):
        raise InvalidArgument(f"{name}={value!r}: expected a finite (min, max) pair, min <= max")
    if positive and pair[0] <= 0:
        raise InvalidArgument(f"{name}={value!r}: the minimum must be > 0")
    return float(pair[0]), float(pair[1])


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _names(
    name: str, value: Sequence[str], allowed: Sequence[str], empty: bool = False
) -> tuple[str, ...]:
    names = _as_tuple(value)
    bad = [v for v in names if v not in allowed]
    if (not names and not empty) or bad:
        raise InvalidArgument(
            f"{name}={value!r}: expected a non-empty subset of {allowed}"
            + (f", unknown {bad}" if bad else "")
        )
    return tuple(dict.fromkeys(names))


def _bounds(family: Family | str | Path | None, given: dict[str, Any]) -> Bounds:
    """The arguments given, then the family's, then the defaults, checked as one."""
    if isinstance(family, str | Path):
        family = load_family(family)
    elif family is not None and not isinstance(family, Family):
        raise InvalidArgument(f"family={family!r}: expected a Family or a path to a family file")
    chosen = {**_DEFAULTS, **(family.networks_arguments() if family else {})}
    kw = {k: chosen[k] if isinstance(v, _Default) else v for k, v in given.items()}
    depth = _int_pair("depth", kw["depth"])
    widths = _int_pair("widths", kw["widths"])
    n_in = widths if kw["n_inputs"] is None else _int_pair("n_inputs", kw["n_inputs"])
    n_out = widths if kw["n_outputs"] is None else _int_pair("n_outputs", kw["n_outputs"])
    acts = _names("activations", kw["activations"], ACTIVATIONS)
    outs = kw["output_activations"]
    outs = None if outs is None else _names("output_activations", outs, ACTIVATIONS)
    hidden = tuple(a for a in acts if not DECLARED_ACTIVATIONS[a].output_only)
    if depth[1] > 1 and not hidden:
        raise InvalidArgument(f"activations={acts!r}: hidden layers need another activation")
    losses = _names("losses", kw["losses"], LOSSES)
    if not served_losses(losses, outs):
        raise InvalidArgument(
            f"losses={losses!r}: none fits output_activations={outs!r} (cross-entropy needs "
            "softmax, binary_cross_entropy sigmoid, svm identity)"
        )
    frozen = _names("frozen", kw["frozen"], tuple(FROZEN_GROUPS), empty=True)
    lr = kw["learning_rate"]
    if not (isinstance(lr, int | float) and np.isfinite(lr) and lr > 0):
        raise InvalidArgument(f"learning_rate={lr!r}: expected a finite number > 0")
    target = bool(kw["target_kinks"])
    if target and not set(hidden) & set(KINKED):
        raise InvalidArgument("target_kinks=True needs 'relu' or 'leaky_relu' in activations")
    if target and depth[0] == 1 and not set(outs or acts) & set(KINKED):
        raise InvalidArgument(
            "target_kinks=True with depth 1 needs 'relu' or 'leaky_relu' in output_activations"
        )
    if target and all(DECLARED_LOSSES[x].output_activation for x in losses) and depth[0] == 1:
        raise InvalidArgument(
            f"target_kinks=True with only losses={losses!r} needs depth >= 2 "
            "(the kinked first layer cannot be the output their activation is forced on)"
        )
    kinds = _names("kinds", kw["kinds"], tuple(DECLARED_KINDS))
    batch = _int_pair("batch_size", kw["batch_size"])
    if batch[1] < 2 and "batch_norm" in kinds:  # a batch of 1 normalises to 0 (refused)
        if kinds != _DEFAULTS["kinds"]:
            raise InvalidArgument(
                f"kinds={kinds!r}: batch_norm needs batch_size up to 2 or more (got {batch!r}): "
                "over a batch of 1 it normalises every value to 0"
            )
        kinds = tuple(k for k in kinds if k != "batch_norm")
    if "dense" not in kinds:
        raise InvalidArgument(f"kinds={kinds!r}: generated networks end in dense layers")
    if set(kinds) & set(IMAGE_KINDS) and "flatten" not in kinds:
        raise InvalidArgument(f"kinds={kinds!r}: an image stem needs 'flatten' before dense")
    return Bounds(
        kinds=kinds,
        depth=depth,
        widths=widths,
        n_inputs=n_in,
        n_outputs=n_out,
        activations=acts,
        output_activations=outs,
        losses=losses,
        bias_modes=_names("bias_modes", kw["bias_modes"], BIAS_MODES),
        frozen=tuple(FROZEN_GROUPS[k] for k in frozen) if kw["allow_frozen"] else (),
        dtypes=_names("dtypes", kw["dtypes"], DTYPES),
        weight_scale=_real_pair("weight_scale", kw["weight_scale"], positive=True),
        saturating=bool(kw["saturating"]),
        input_range=_real_pair("input_range", kw["input_range"], positive=False),
        batch_size=batch,
        learning_rate=float(lr),
        avoid_kinks=bool(kw["avoid_kinks"]),
        target_kinks=target,
        weight_decay=_decay_range(kw["weight_decay"]),
    )


def _decay_range(value: Any) -> tuple[float, float]:
    """``weight_decay``: lambda or its ``(min, max)``, each finite and >= 0."""
    both = (
        (value, value) if isinstance(value, int | float) and not isinstance(value, bool) else value
    )
    pair = _real_pair("weight_decay", both, positive=False)
    if pair[0] < 0:
        raise InvalidArgument(f"weight_decay={value!r}: expected lambda >= 0")
    return pair


_DEFAULTS: dict[str, Any] = {
    "depth": (1, 3),
    "widths": (1, 6),
    "n_inputs": None,
    "n_outputs": None,
    # every declared activation, in declared order (softmax for the output layer, any loss)
    "activations": tuple(DECLARED_ACTIVATIONS),
    "output_activations": None,
    "losses": LOSSES,
    "bias_modes": BIAS_MODES,
    "allow_frozen": True,
    "frozen": tuple(FROZEN_GROUPS),
    "dtypes": DTYPES,
    "weight_scale": (0.1, 2.0),
    "saturating": False,
    "input_range": (-2.0, 2.0),
    "batch_size": (1, 4),
    "learning_rate": 0.1,
    "avoid_kinks": True,
    "target_kinks": False,
    "weight_decay": (0.0, 0.1),
    "kinds": tuple(DECLARED_KINDS),  # every layer kind, in declared order
}


class _Default:
    """An argument left out: the family's value if one is given, else the default (shown)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return repr(_DEFAULTS[self.name])


_D: dict[str, Any] = {name: _Default(name) for name in _DEFAULTS}


def networks(
    *,
    family: Family | str | Path | None = None,
    depth: int | tuple[int, int] = _D["depth"],
    widths: int | tuple[int, int] = _D["widths"],
    n_inputs: int | tuple[int, int] | None = _D["n_inputs"],
    n_outputs: int | tuple[int, int] | None = _D["n_outputs"],
    activations: Sequence[str] = _D["activations"],
    output_activations: Sequence[str] | None = _D["output_activations"],
    losses: Sequence[str] = _D["losses"],
    bias_modes: Sequence[str] = _D["bias_modes"],
    allow_frozen: bool = _D["allow_frozen"],
    frozen: Sequence[str] = _D["frozen"],
    dtypes: Sequence[str] = _D["dtypes"],
    weight_scale: tuple[float, float] = _D["weight_scale"],
    saturating: bool = _D["saturating"],
    input_range: tuple[float, float] = _D["input_range"],
    batch_size: int | tuple[int, int] = _D["batch_size"],
    learning_rate: float = _D["learning_rate"],
    avoid_kinks: bool = _D["avoid_kinks"],
    target_kinks: bool = _D["target_kinks"],
    weight_decay: float | tuple[float, float] = _D["weight_decay"],
    kinds: Sequence[str] = _D["kinds"],
) -> st.SearchStrategy[Case]:
    """A strategy for :class:`Case`: a valid network spec, its params, inputs and targets.

    Every bound is checked now, not at draw time (:class:`~hypothesis.errors.InvalidArgument`).
    An int bound means exactly that value, a pair ``(min, max)`` an inclusive range.

    * ``family``: a :class:`~gradcheck.spec.family.Family` or the path of a family TOML file
      (what a candidate supports); it sets the architectural bounds below, and any argument
      given as well narrows or replaces the family's value.

    * ``depth``: number of dense layers (an image or sequence stem and a residual block come
      besides), e.g. ``depth=2`` for one hidden layer.
    * ``widths``: neurons per layer, inputs and outputs included, e.g. ``widths=(1, 8)``.
    * ``n_inputs`` / ``n_outputs``: override ``widths`` for the input / output layer, e.g.
      ``n_inputs=2, n_outputs=1`` with ``depth=2`` for 2-k-1 networks.
    * ``activations``: per-layer choices, e.g. ``("sigmoid", "tanh")``; ``"softmax"`` is only
      ever drawn for the output layer.
    * ``output_activations``: the output layer's choices, e.g. ``("identity",)`` (default: those
      of ``activations``); a loss that needs one (cross-entropy: softmax, binary cross-entropy:
      sigmoid) is drawn only if it is among them.
    * ``losses``: e.g. ``("half_sse", "mse")``; ``"softmax_cross_entropy"`` forces a softmax
      output and draws one-hot or soft targets, ``"binary_cross_entropy"`` a sigmoid output
      with targets anywhere in [0, 1], ``"svm"`` an identity output (raw scores) with one-hot
      targets.
    * ``bias_modes``: subset of ``("none", "shared", "per_neuron")``.
    * ``allow_frozen``: let weight matrices and biases be frozen (``trainable = false``), each
      with chance 1/4; a network may then have nothing trainable (its gradient is ``[{}]``).
    * ``frozen``: which groups may be frozen, a subset of ``("weights", "biases")``.
    * ``dtypes``: e.g. ``("float64", "float32")``; float32 values are drawn exactly
      representable in float32.
    * ``weight_scale``: ``(min, max)`` of a per-network scale ``s``; weights and biases are drawn
      in ``[-s, s]``, e.g. ``(0.1, 2.0)``.
    * ``saturating``: also draw networks with ``s`` in ``(6, 12)``, where sigmoid and tanh units
      saturate and their derivatives underflow toward 0.
    * ``input_range``: ``(min, max)`` of inputs and of squared-loss targets, e.g. ``(-2, 2)``.
    * ``batch_size``: samples per case, e.g. ``(1, 4)``.
    * ``learning_rate``: written to the spec's optimizer, e.g. ``0.1``.
    * ``avoid_kinks``: reject networks with a relu / leaky-relu pre-activation within
      ``KINK_MARGIN`` (1e-3) of 0 (where a finite difference straddles the kink).
    * ``target_kinks``: make the first layer relu-like with neuron 0's pre-activation exactly 0
      for every sample (its weights and bias set to 0).
    * ``weight_decay``: lambda of the L2 term, a value or ``(min, max)``, e.g. ``0.0`` for none;
      a pair draws the minimum half the time, else a value in the range (default ``(0, 0.1)``).
    * ``kinds``: the layer kinds drawn, every declared kind by default (``("dense",)`` for
      dense networks only, what code that handles nothing else should pass); with ``"conv2d"``,
      ``"max_pool2d"`` or ``"avg_pool2d"`` (and ``"flatten"``) a network may start with an image
      stem: a ``(C, H, W)`` input, one or two of those stages, a flatten, then dense layers.
      ``avoid_kinks`` also rejects max-pool windows whose two largest inputs nearly tie. With
      ``"residual"`` a network may hold a residual block ``act(x + F(x))`` before one of its
      dense layers, ``F`` one or two dense layers (``avoid_kinks`` looks inside it too).
      ``"rnn"`` a network may start with a sequence stem instead: a ``(T, n_in)`` input, one rnn
      (its last state, or every state where ``"flatten"`` is allowed too, then a flatten).
      With ``"batch_norm"`` or ``"layer_norm"`` a hidden dense layer or a conv stage may be
      followed by that norm (its gamma, beta and eps drawn; each group may be frozen).
    """
    b = _bounds(family, {k: v for k, v in locals().items() if k in _DEFAULTS})

    @st.composite
    def cases(draw: st.DrawFn) -> Case:
        return build_case(HypothesisSource(draw), b, "gradcheck.generate.strategies.networks")

    return cases()


def sample_networks(
    n: int,
    seed: int = 0,
    *,
    family: Family | str | Path | None = None,
    first: int = 0,
    **kwargs: Any,
) -> list[Case]:
    """``n`` cases drawn from a NumPy generator seeded by ``(seed, i)``: same seed, same list;
    ``first``: the index of the first (cases ``first`` to ``first + n - 1`` of that list).

    Takes the keyword arguments of :func:`networks` (``family`` included) and mirrors its
    distribution of shapes (uniform where Hypothesis is biased toward small and boundary values),
    except that the first cases follow a plan that reaches every path within the bounds
    (:mod:`~gradcheck.generate.coverage`): softmax under every loss, soft and one-hot
    cross-entropy targets, each hidden activation, dtype and bias mode.
    """
    unknown = sorted(set(kwargs) - set(_DEFAULTS))
    if unknown:
        raise InvalidArgument(f"sample_networks: unknown arguments {unknown}")
    if n < 0:
        raise InvalidArgument(f"n={n!r}: expected a count >= 0")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed={seed!r}: expected an int >= 0")
    if isinstance(first, bool) or not isinstance(first, int) or first < 0:
        raise InvalidArgument(f"first={first!r}: expected an index >= 0")
    b = _bounds(family, {**_D, **kwargs})
    return [_sample_one(b, seed, i) for i in range(first, first + n)]


def _sample_one(b: Bounds, seed: int, index: int) -> Case:
    rng = np.random.default_rng([seed, index])
    for _ in range(1000):
        try:
            origin = f"gradcheck.generate.strategies.sample_networks(seed={seed}), case {index}"
            return build_case(NumpySource(rng), planned_bounds(b, seed, index), origin)
        except Redraw:
            continue
    raise InvalidArgument(f"sample_networks(seed={seed}): case {index} hit a relu kink 1000 times")
