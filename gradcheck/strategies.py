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

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, NamedTuple, Protocol, TypeVar

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import NDArray

from gradcheck.backprop import forward
from gradcheck.spec import ACTIVATIONS, LOSSES, Array, Params, Spec, parse_spec, spec_to_toml

__all__ = ["Case", "networks", "sample_networks"]

T = TypeVar("T")
BIAS_MODES = ("none", "shared", "per_neuron")
DTYPES = ("float64", "float32")
KINKED = ("relu", "leaky_relu")
LEAKY_SLOPES = (0.1, 0.01, 0.2)
SATURATING_SCALE = (6.0, 12.0)
# |pre-activation| a relu keeps from 0 so no finite-difference step crosses the kink (the FD
# oracle runs in float64 with relative steps of about 6e-6, whatever the spec's dtype).
KINK_MARGIN = 1e-3


class Case(NamedTuple):
    """One drawn network: unpacks as the ``(spec, params, inputs, targets)`` of a GradientFn."""

    spec: Spec
    params: Params
    inputs: Array
    targets: Array

    @classmethod
    def from_spec(cls, spec: Spec) -> Case:
        """The spec's own trainable params, sample inputs and targets."""
        return cls(spec, spec.initial_params(), spec.inputs(), spec.targets())

    @classmethod
    def from_toml(cls, text: str, path: str = "<replay>") -> Case:
        """Rebuild a case from :meth:`replay` text (or any spec TOML)."""
        return cls.from_spec(parse_spec(tomllib.loads(text), path))

    def replay(self) -> str:
        """The network as spec TOML; it holds the weights and samples, so it replays exactly."""
        return spec_to_toml(self.spec)

    def describe(self) -> str:
        """One line: ``2-3-1 sigmoid/identity half_sse float64 batch 2``."""
        s = self.spec
        sizes = "-".join(str(n) for n in s.sizes)
        acts = "/".join(s.activations)
        return f"{sizes} {acts} {s.loss} {s.model.dtype} batch {self.inputs.shape[0]}"

    def __repr__(self) -> str:
        return f"Case.from_toml('''\n{self.replay()}''')"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        # Hypothesis prints a falsifying example through this: show the replayable TOML.
        p.text(repr(self))


@dataclass(frozen=True)
class _Bounds:
    """Every argument of :func:`networks`, validated once when the strategy is built."""

    depth: tuple[int, int]
    widths: tuple[int, int]
    n_inputs: tuple[int, int]
    n_outputs: tuple[int, int]
    activations: tuple[str, ...]
    losses: tuple[str, ...]
    bias_modes: tuple[str, ...]
    allow_frozen: bool
    dtypes: tuple[str, ...]
    weight_scale: tuple[float, float]
    saturating: bool
    input_range: tuple[float, float]
    batch_size: tuple[int, int]
    learning_rate: float
    avoid_kinks: bool
    target_kinks: bool


class _Source(Protocol):
    """Where choices come from: Hypothesis draws (shrinkable) or a seeded NumPy generator."""

    def integer(self, lo: int, hi: int) -> int: ...
    def choice(self, options: Sequence[T]) -> T: ...
    def words(self, count: int) -> NDArray[np.uint16]: ...
    def many(self, lo: int, hi: int, element: Callable[[_Source], T]) -> list[T]: ...
    def reject(self) -> None: ...


class _HypothesisSource:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return lo if lo == hi else self.draw(_integers(lo, hi))

    def choice(self, options: Sequence[T]) -> T:
        return (
            options[self.draw(_integers(0, len(options) - 1))] if len(options) > 1 else options[0]
        )

    def words(self, count: int) -> NDArray[np.uint16]:
        raw = self.draw(_binary(2 * count)) if count else b""
        return np.frombuffer(raw, dtype=">u2").astype(np.uint16)

    def many(self, lo: int, hi: int, element: Callable[[_Source], T]) -> list[T]:
        # A "one more?" choice before every element (required ones included) and after the
        # last (even at ``hi``): every element is the same run of choices ending where the next
        # "one more?" starts, so the shrinker can delete any one of them whole.
        items: list[T] = []
        while True:
            more = self.draw(_MORE) != 0
            if len(items) == hi or (len(items) >= lo and not more):
                return items
            items.append(element(self))

    def reject(self) -> None:
        assume(False)


class _Redraw(Exception):
    """The NumPy source's way to start a case again (Hypothesis rejects with ``assume``)."""


class _NumpySource:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi + 1))

    def choice(self, options: Sequence[T]) -> T:
        return options[int(self.rng.integers(len(options)))]

    def words(self, count: int) -> NDArray[np.uint16]:
        return self.rng.integers(0, 1 << 16, size=count, dtype=np.uint16)

    def many(self, lo: int, hi: int, element: Callable[[_Source], T]) -> list[T]:
        return [element(self) for _ in range(self.integer(lo, hi))]

    def reject(self) -> None:
        raise _Redraw


@cache
def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


# "One more element?" continues two times in three, so depths and batch sizes spread over
# their range (a fair coin would make most networks one layer deep); 0 shrinks to "stop".
_MORE = st.integers(0, 2)


@cache
def _binary(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=size, max_size=size)


def _decode(
    words: NDArray[np.uint16], lo: float, hi: float, dtype: str, anchor: float | None = None
) -> NDArray[Any]:
    """Values in ``[lo, hi]`` from 16-bit words, exactly representable in ``dtype``.

    Word ``u`` zigzag-decodes to ``k`` in ``[-32768, 32767]`` (0, -1, 1, -2, ... as ``u`` grows)
    and ``k`` maps linearly onto ``[anchor, hi]`` (``k >= 0``) or ``[lo, anchor]`` (``k < 0``):
    a shrinking word moves the value toward ``anchor`` (default: the middle of the range).
    """
    u = words.astype(np.int64)
    k = (u >> 1) ^ -(u & 1)
    a = (lo + hi) / 2.0 if anchor is None else anchor
    values = np.where(k >= 0, a + (hi - a) * (k / 32767.0), a + (a - lo) * (k / 32768.0))
    return np.clip(values, lo, hi).astype(dtype)


@dataclass(frozen=True)
class _RawLayer:
    """A layer's choices; weights stay words until the network's dtype and scale are drawn.

    The words are drawn ``max_out x max_in`` whatever the layer's shape and the last ``size``
    rows and ``n_in`` columns used, so deleting a layer or narrowing one leaves every draw
    valid, and unit ``j`` keeps its outgoing weights: the values the shrinker leaves nonzero
    (it zeroes early choices first) stay in use.
    """

    size: int
    activation: str
    slope: float | None
    bias_mode: str
    w_trainable: bool
    b_trainable: bool
    weight_words: NDArray[np.uint16]
    bias_words: NDArray[np.uint16]


@dataclass(frozen=True)
class _LayerDraw:
    """Draws one layer's choices."""

    b: _Bounds
    activations: tuple[str, ...]
    widths: tuple[int, int]
    max_in: int
    max_out: int

    def __call__(self, src: _Source) -> _RawLayer:
        # Five choices per layer with the "one more?" choice before it, so Hypothesis's
        # five-node deletion pass can remove a whole layer. Bias mode and frozen flags share one
        # choice (0 shrinks to no bias, both trainable; each group is frozen one time in four)
        # and a leaky-relu slope comes from the last word.
        b = self.b
        size = src.integer(*self.widths)
        activation = src.choice(self.activations)
        flags = src.integer(0, 16 * len(b.bias_modes) - 1)
        mode, frozen = b.bias_modes[flags // 16], flags % 16 if b.allow_frozen else 0
        words = src.words(self.max_out * (self.max_in + 1) + 1)
        slope = LEAKY_SLOPES[words[-1] % len(LEAKY_SLOPES)] if activation == "leaky_relu" else None
        return _RawLayer(
            size=size,
            activation=activation,
            slope=slope,
            bias_mode=mode,
            w_trainable=frozen % 4 != 3,
            b_trainable=mode == "none" or frozen // 4 != 3,
            weight_words=words[self.max_out : -1].reshape(self.max_out, self.max_in),
            bias_words=words[: self.max_out],
        )


def _build_case(src: _Source, b: _Bounds, origin: str) -> Case:
    """Draw shape first, then values; build the spec through parse_spec so it is valid."""
    # All layers first, as one list whose last element becomes the output layer: Hypothesis
    # prefers a smaller first choice (fewer layers beats a narrower input), and deleting the last
    # element leaves a network whose new output layer keeps its activation, bias and flags.
    max_in = max(b.n_inputs[1], b.widths[1])
    any_width = (min(b.widths[0], b.n_outputs[0]), max(b.widths[1], b.n_outputs[1]))
    drawn = src.many(*b.depth, _LayerDraw(b, b.activations, any_width, max_in, any_width[1]))
    n_in = src.integer(*b.n_inputs)
    kink: tuple[str, float | None] | None = None
    if b.target_kinks:
        act = src.choice([a for a in b.activations if a in KINKED])
        kink = (act, src.choice(LEAKY_SLOPES) if act == "leaky_relu" else None)
    losses = b.losses
    if kink is not None and len(drawn) == 1:  # the kinked first layer is the output
        losses = tuple(x for x in losses if x != "softmax_cross_entropy")
    loss = src.choice(losses)
    layers = [_as_hidden(r, b) for r in drawn[:-1]] + [_as_output(drawn[-1], b, loss)]
    if kink is not None:
        layers[0] = replace(layers[0], activation=kink[0], slope=kink[1])
    n_out = layers[-1].size
    dtype = src.choice(b.dtypes)
    saturate = b.saturating and src.integer(0, 1) == 1
    scale = float(
        _decode(src.words(1), *(SATURATING_SCALE if saturate else b.weight_scale), "float64")[0]
    )

    samples = _draw_samples(src, b, n_in, n_out, max_in, loss, dtype)
    sizes = [n_in, *(r.size for r in layers)]
    data = {
        "name": "generated-" + "-".join(str(n) for n in sizes),
        "description": f"drawn by {origin}",
        "dtype": dtype,
        "loss": loss,
        "optimizer": {"name": "sgd", "learning_rate": b.learning_rate},
        "input": {"size": n_in},
        "layers": [
            _layer_table(r, sizes[i], scale, dtype, kinked=kink is not None and i == 0)
            for i, r in enumerate(layers)
        ],
        "samples": samples,
    }
    case = Case.from_spec(parse_spec(data, "<generated>"))
    if b.avoid_kinks and _near_kink(case, 0 if kink is not None else None):
        src.reject()
    return case


def _draw_samples(
    src: _Source, b: _Bounds, n_in: int, n_out: int, max_in: int, loss: str, dtype: str
) -> list[dict[str, list[float]]]:
    """The batch size, then one block of words, a row per possible sample.

    Like weights, the block is drawn at its largest (``batch x (max_in + max_out)``) and the last
    rows and columns used, so shrinking the batch or a width keeps the values the shrinker
    left nonzero. Cross-entropy targets are one-hot at ``word % n_out`` (0 shrinks to class 0).
    """
    batch = src.integer(*b.batch_size)
    max_out, rows = b.n_outputs[1], b.batch_size[1]
    block = src.words(rows * (max_in + max_out)).reshape(rows, -1)[rows - batch :]
    # Inputs shrink toward 1 (where the range allows): a zero input hides every weight it feeds.
    lo, hi = b.input_range
    x = _decode(block[:, max_in - n_in : max_in], lo, hi, dtype, 1.0 if lo <= 1 <= hi else None)
    if loss == "softmax_cross_entropy":
        hot = block[:, -1] % n_out
        t = (np.arange(n_out) == hot[:, None]).astype(dtype)
    else:
        t = _decode(block[:, block.shape[1] - n_out :], *b.input_range, dtype)
    return [{"input": xi, "target": ti} for xi, ti in zip(x.tolist(), t.tolist(), strict=True)]


def _as_hidden(r: _RawLayer, b: _Bounds) -> _RawLayer:
    """A drawn layer below the output: width within ``widths``, no softmax."""
    size = min(max(r.size, b.widths[0]), b.widths[1])
    if r.activation != "softmax":
        return replace(r, size=size)
    act = next(a for a in b.activations if a != "softmax")
    slope = LEAKY_SLOPES[0] if act == "leaky_relu" else None
    return replace(r, size=size, activation=act, slope=slope)


def _as_output(r: _RawLayer, b: _Bounds, loss: str) -> _RawLayer:
    """The last drawn layer: width within ``n_outputs``, softmax under cross-entropy."""
    size = min(max(r.size, b.n_outputs[0]), b.n_outputs[1])
    if loss == "softmax_cross_entropy":
        return replace(r, size=size, activation="softmax", slope=None)
    return replace(r, size=size)


def _layer_table(r: _RawLayer, n_in: int, scale: float, dtype: str, kinked: bool) -> dict[str, Any]:
    """The spec table of a drawn layer; ``kinked`` zeroes neuron 0's weights and bias, so its
    pre-activation is exactly 0 for every sample."""
    max_out, max_in = r.weight_words.shape
    weights = _decode(r.weight_words[max_out - r.size :, max_in - n_in :], -scale, scale, dtype)
    bias_values = _decode(r.bias_words[len(r.bias_words) - r.size :], -scale, scale, dtype)
    if kinked:
        weights[0] = 0.0
        bias_values[:1] = 0.0
    table: dict[str, Any] = {
        "size": r.size,
        "activation": r.activation,
        "weights": weights.tolist(),
    }
    if r.slope is not None:
        table["slope"] = r.slope
    if not r.w_trainable:
        table["trainable"] = False
    bias: dict[str, Any] = {"mode": r.bias_mode}
    if r.bias_mode == "shared":
        bias["value"] = float(bias_values[0])
    elif r.bias_mode == "per_neuron":
        bias["value"] = bias_values.tolist()
    if not r.b_trainable:
        bias["trainable"] = False
    table["bias"] = bias
    return table


def _near_kink(case: Case, kink_layer: int | None) -> bool:
    """A relu pre-activation within the margin of 0 that some parameter can move.

    It cannot move when the layer's inputs for that sample are all 0 and it has no trainable
    bias (a dead unit below stays dead under a small step), so those are kept.
    """
    spec = case.spec
    fwd = forward(spec, case.params, case.inputs)
    for i, act in enumerate(spec.activations):
        if act not in KINKED:
            continue
        near = np.abs(fwd.nets[i]) < KINK_MARGIN
        if i == kink_layer:
            near[:, 0] = False
        movable = np.any(fwd.outs[i] != 0, axis=1, keepdims=True) | spec.is_trainable(i, "b")
        if np.any(near & movable):
            return True
    return False


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


def _names(name: str, value: Sequence[str], allowed: Sequence[str]) -> tuple[str, ...]:
    names = _as_tuple(value)
    bad = [v for v in names if v not in allowed]
    if not names or bad:
        raise InvalidArgument(
            f"{name}={value!r}: expected a non-empty subset of {allowed}"
            + (f", unknown {bad}" if bad else "")
        )
    return tuple(dict.fromkeys(names))


def _bounds(**kw: Any) -> _Bounds:
    depth = _int_pair("depth", kw["depth"])
    widths = _int_pair("widths", kw["widths"])
    n_in = widths if kw["n_inputs"] is None else _int_pair("n_inputs", kw["n_inputs"])
    n_out = widths if kw["n_outputs"] is None else _int_pair("n_outputs", kw["n_outputs"])
    acts = _names("activations", kw["activations"], ACTIVATIONS)
    losses = _names("losses", kw["losses"], LOSSES)
    if depth[1] > 1 and acts == ("softmax",):
        raise InvalidArgument("activations=('softmax',): hidden layers need another activation")
    lr = kw["learning_rate"]
    if not (isinstance(lr, int | float) and np.isfinite(lr) and lr > 0):
        raise InvalidArgument(f"learning_rate={lr!r}: expected a finite number > 0")
    target = bool(kw["target_kinks"])
    if target and not set(acts) & set(KINKED):
        raise InvalidArgument("target_kinks=True needs 'relu' or 'leaky_relu' in activations")
    if target and losses == ("softmax_cross_entropy",) and depth[0] == 1:
        raise InvalidArgument(
            "target_kinks=True with only softmax_cross_entropy needs depth >= 2 "
            "(the kinked first layer cannot be the softmax output)"
        )
    return _Bounds(
        depth=depth,
        widths=widths,
        n_inputs=n_in,
        n_outputs=n_out,
        activations=acts,
        losses=losses,
        bias_modes=_names("bias_modes", kw["bias_modes"], BIAS_MODES),
        allow_frozen=bool(kw["allow_frozen"]),
        dtypes=_names("dtypes", kw["dtypes"], DTYPES),
        weight_scale=_real_pair("weight_scale", kw["weight_scale"], positive=True),
        saturating=bool(kw["saturating"]),
        input_range=_real_pair("input_range", kw["input_range"], positive=False),
        batch_size=_int_pair("batch_size", kw["batch_size"]),
        learning_rate=float(lr),
        avoid_kinks=bool(kw["avoid_kinks"]),
        target_kinks=target,
    )


_DEFAULTS: dict[str, Any] = {
    "depth": (1, 3),
    "widths": (1, 6),
    "n_inputs": None,
    "n_outputs": None,
    "activations": ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus"),
    "losses": LOSSES,
    "bias_modes": BIAS_MODES,
    "allow_frozen": True,
    "dtypes": ("float64",),
    "weight_scale": (0.1, 2.0),
    "saturating": False,
    "input_range": (-2.0, 2.0),
    "batch_size": (1, 4),
    "learning_rate": 0.1,
    "avoid_kinks": True,
    "target_kinks": False,
}


def networks(
    *,
    depth: int | tuple[int, int] = _DEFAULTS["depth"],
    widths: int | tuple[int, int] = _DEFAULTS["widths"],
    n_inputs: int | tuple[int, int] | None = None,
    n_outputs: int | tuple[int, int] | None = None,
    activations: Sequence[str] = _DEFAULTS["activations"],
    losses: Sequence[str] = _DEFAULTS["losses"],
    bias_modes: Sequence[str] = BIAS_MODES,
    allow_frozen: bool = True,
    dtypes: Sequence[str] = _DEFAULTS["dtypes"],
    weight_scale: tuple[float, float] = _DEFAULTS["weight_scale"],
    saturating: bool = False,
    input_range: tuple[float, float] = _DEFAULTS["input_range"],
    batch_size: int | tuple[int, int] = _DEFAULTS["batch_size"],
    learning_rate: float = 0.1,
    avoid_kinks: bool = True,
    target_kinks: bool = False,
) -> st.SearchStrategy[Case]:
    """A strategy for :class:`Case`: a valid network spec, its params, inputs and targets.

    Every bound is checked now, not at draw time (:class:`~hypothesis.errors.InvalidArgument`).
    An int bound means exactly that value, a pair ``(min, max)`` an inclusive range.

    * ``depth``: number of weight layers, e.g. ``depth=2`` for one hidden layer.
    * ``widths``: neurons per layer, inputs and outputs included, e.g. ``widths=(1, 8)``.
    * ``n_inputs`` / ``n_outputs``: override ``widths`` for the input / output layer, e.g.
      ``n_inputs=2, n_outputs=1`` with ``depth=2`` for 2-k-1 networks.
    * ``activations``: per-layer choices, e.g. ``("sigmoid", "tanh")``; ``"softmax"`` is only
      ever drawn for the output layer.
    * ``losses``: e.g. ``("half_sse", "mse")``; ``"softmax_cross_entropy"`` forces a softmax
      output and draws one-hot targets.
    * ``bias_modes``: subset of ``("none", "shared", "per_neuron")``.
    * ``allow_frozen``: let weight matrices and biases be frozen (``trainable = false``), each
      with chance 1/4; a network may then have nothing trainable (its gradient is ``[{}]``).
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
    """
    b = _bounds(**{k: v for k, v in locals().items() if k in _DEFAULTS})

    @st.composite
    def cases(draw: st.DrawFn) -> Case:
        return _build_case(_HypothesisSource(draw), b, "gradcheck.strategies.networks")

    return cases()


def sample_networks(n: int, seed: int = 0, **kwargs: Any) -> list[Case]:
    """``n`` cases drawn from a NumPy generator seeded by ``(seed, i)``: same seed, same list.

    Takes the keyword arguments of :func:`networks` and mirrors its distribution of shapes
    (uniform where Hypothesis is biased toward small and boundary values).
    """
    unknown = sorted(set(kwargs) - set(_DEFAULTS))
    if unknown:
        raise InvalidArgument(f"sample_networks: unknown arguments {unknown}")
    if n < 0:
        raise InvalidArgument(f"n={n!r}: expected a count >= 0")
    b = _bounds(**{**_DEFAULTS, **kwargs})
    return [_sample_one(b, seed, i) for i in range(n)]


def _sample_one(b: _Bounds, seed: int, index: int) -> Case:
    rng = np.random.default_rng([seed, index])
    for _ in range(1000):
        try:
            origin = f"gradcheck.strategies.sample_networks(seed={seed}), case {index}"
            return _build_case(_NumpySource(rng), b, origin)
        except _Redraw:
            continue
    raise InvalidArgument(f"sample_networks(seed={seed}): case {index} hit a relu kink 1000 times")
