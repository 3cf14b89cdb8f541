"""How choices become a network: shape first, then values, built through ``parse_spec``.

Contract: :func:`build_case` asks a :class:`~gradcheck.generate.sources.Source` for every choice in
a fixed order (layers, input width, a targeted kink, loss, dtype, weight scale, batch, weight
decay) within
:class:`Bounds` and returns a valid :class:`~gradcheck.generate.case.Case`; values come from 16-bit
words laid out so that deleting a layer or narrowing one leaves every other draw valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck.generate.case import Case
from gradcheck.generate.images import (
    IMAGE_KINDS,
    MAX_FLAT_VALUES,
    MAX_IMAGE_VALUES,
    StageDraw,
    image_shape,
    image_tables,
    pool_ties,
)
from gradcheck.generate.norms import NORM_KINDS, NormDraw, norm_table
from gradcheck.generate.sequences import (
    MAX_SEQUENCE_VALUES,
    SEQUENCE_KINDS,
    RnnDraw,
    sequence_tables,
)
from gradcheck.generate.sources import Source
from gradcheck.generate.tables import bias_table
from gradcheck.hand import forward
from gradcheck.layers import ACTIVATIONS, LOSSES, Registry
from gradcheck.spec import parse_spec

__all__ = [
    "DRAWN_KIND",
    "GENERATE_KINDS",
    "KINKED",
    "KINK_MARGIN",
    "LEAKY_SLOPES",
    "ONE_HOT",
    "SATURATING_SCALE",
    "TARGET_KINDS",
    "UNIT_TARGETS",
    "Bounds",
    "KindDraw",
    "build_case",
    "served_losses",
]

# The losses whose targets come in kinds (``Bounds.ce_targets``: one-hot or soft), and those
# whose targets are probabilities in [0, 1] of one kind.
TARGET_KINDS = ("softmax_cross_entropy",)
UNIT_TARGETS = ("binary_cross_entropy",)
# The losses whose targets must be one-hot (svm: the true class), drawn like one-hot ones above.
ONE_HOT = tuple(name for name, loss in LOSSES.items() if loss.one_hot)
KINKED = tuple(name for name, a in ACTIVATIONS.items() if a.kinked)
LEAKY_SLOPES = (0.1, 0.01, 0.2)
SATURATING_SCALE = (6.0, 12.0)
# |pre-activation| a relu keeps from 0 so no finite-difference step crosses the kink (the FD
# oracle runs in float64 with relative steps of about 6e-6, whatever the spec's dtype).
KINK_MARGIN = 1e-3


def _takes_slope(activation: str) -> bool:
    return ACTIVATIONS[activation].takes_slope


@dataclass(frozen=True)
class Bounds:
    """Every argument of :func:`~gradcheck.networks`, validated once, when built."""

    depth: tuple[int, int]
    widths: tuple[int, int]
    n_inputs: tuple[int, int]
    n_outputs: tuple[int, int]
    activations: tuple[str, ...]  # every layer's; output-only ones (softmax) drawn for the output
    output_activations: tuple[str, ...] | None  # the output layer's; None: as ``activations``
    losses: tuple[str, ...]
    bias_modes: tuple[str, ...]
    frozen: tuple[str, ...]  # groups that may be frozen: "W", "b"
    dtypes: tuple[str, ...]
    weight_scale: tuple[float, float]
    saturating: bool
    input_range: tuple[float, float]
    batch_size: tuple[int, int]
    learning_rate: float
    avoid_kinks: bool
    target_kinks: bool
    ce_targets: tuple[str, ...] = ("one-hot", "soft")  # cross-entropy's kinds of target
    weight_decay: tuple[float, float] = (0.0, 0.1)  # lambda's (min, max)
    kinds: tuple[str, ...] = ("dense",)  # layer kinds drawn: image kinds add an image stem
    images: tuple[bool, ...] = (False, True)  # with image kinds: whether a network has a stem
    residual: tuple[bool, ...] = (False, True)  # with residual: whether it has a block
    sequences: tuple[bool, ...] = (False, True)  # with rnn: whether a network has an rnn stem
    # with norm kinds: whether a hidden dense layer or a conv stage is followed by a norm
    norm_choices: tuple[bool, ...] = (False, True)


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

    b: Bounds
    activations: tuple[str, ...]
    widths: tuple[int, int]
    max_in: int
    max_out: int

    def __call__(self, src: Source) -> _RawLayer:
        # Five choices per layer with the "one more?" choice before it, so Hypothesis's
        # five-node deletion pass can remove a whole layer. Bias mode and frozen flags share one
        # choice (0 shrinks to no bias, both trainable; each group is frozen one time in four)
        # and a leaky-relu slope comes from the last word.
        b = self.b
        size = src.integer(*self.widths)
        activation = src.choice(self.activations)
        flags = src.integer(0, 16 * len(b.bias_modes) - 1)
        mode, frozen = b.bias_modes[flags // 16], flags % 16
        words = src.words(self.max_out * (self.max_in + 1) + 1)
        slope = LEAKY_SLOPES[words[-1] % len(LEAKY_SLOPES)] if _takes_slope(activation) else None
        return _RawLayer(
            size=size,
            activation=activation,
            slope=slope,
            bias_mode=mode,
            w_trainable="W" not in b.frozen or frozen % 4 != 3,
            b_trainable=mode == "none" or "b" not in b.frozen or frozen // 4 != 3,
            weight_words=words[self.max_out : -1].reshape(self.max_out, self.max_in),
            bias_words=words[: self.max_out],
        )


def build_case(src: Source, b: Bounds, origin: str) -> Case:
    """Draw shape first, then values; build the spec through parse_spec so it is valid."""
    # All layers first, as one list whose last element becomes the output layer: Hypothesis
    # prefers a smaller first choice (fewer layers beats a narrower input), and deleting the last
    # element leaves a network whose new output layer keeps its activation, bias and flags.
    images = tuple(k for k in IMAGE_KINDS if k in b.kinds)
    sequences = any(k in b.kinds for k in SEQUENCE_KINDS)
    stem_values = max(MAX_FLAT_VALUES if images else 0, MAX_SEQUENCE_VALUES if sequences else 0)
    max_in = max(b.n_inputs[1], b.widths[1], stem_values)
    any_width = (min(b.widths[0], b.n_outputs[0]), max(b.widths[1], b.n_outputs[1]))
    kind = GENERATE_KINDS[DRAWN_KIND]
    acts = _drawn_activations(b)
    drawn = src.many(*b.depth, kind.choices(b, acts, any_width, max_in, any_width[1]))
    n_in = src.integer(*b.n_inputs)
    kink: tuple[str, float | None] | None = None
    if b.target_kinks:
        act = src.choice([a for a in b.activations if a in KINKED])
        kink = (act, src.choice(LEAKY_SLOPES) if _takes_slope(act) else None)
    stem = None
    if images and kink is None and src.choice(b.images):  # a targeted kink stays dense
        hidden = tuple(a for a in acts if not ACTIVATIONS[a].output_only) or ("identity",)
        shape = image_shape(src)
        after_conv = _norm_draw(b, MAX_FLAT_VALUES)
        stem = (
            shape,
            src.many(1, 2, StageDraw(images, hidden, b.bias_modes, LEAKY_SLOPES, after_conv)),
        )
    rnn = None
    if sequences and stem is None and kink is None and src.choice(b.sequences):
        rnn = RnnDraw(b.bias_modes, b.frozen, "flatten" in b.kinds)(src)
    losses = served_losses(b.losses, b.output_activations)
    if kink is not None and len(drawn) == 1:  # the kinked first layer is the output
        losses = tuple(x for x in losses if LOSSES[x].output_activation is None)
    loss = src.choice(losses)
    layers = [_as_hidden(r, b, acts) for r in drawn[:-1]]
    layers += [_as_output(drawn[-1], b, loss, acts)]
    if kink is not None:
        layers[0] = replace(layers[0], activation=kink[0], slope=kink[1])
    n_out = layers[-1].size
    after_dense = _norm_draw(b, b.widths[1])
    norms = [after_dense(src) for _ in layers[:-1]] if after_dense is not None else []
    dtype = src.choice(b.dtypes)
    saturate = b.saturating and src.integer(0, 1) == 1
    scale = float(
        _decode(src.words(1), *(SATURATING_SCALE if saturate else b.weight_scale), "float64")[0]
    )

    stem_tables: list[dict[str, Any]] = []
    n_values, input_shape = n_in, None
    if stem is not None:
        stem_tables, n_in = image_tables(*stem, scale, dtype, _decode)
        n_values, input_shape = int(np.prod(stem[0])), stem[0]
    if rnn is not None:
        input_shape, stem_tables, n_in = sequence_tables(rnn, scale, dtype, _decode)
        n_values = int(np.prod(input_shape))
    block = None
    if "residual" in b.kinds and src.choice(b.residual):
        hidden = tuple(a for a in acts if not ACTIVATIONS[a].output_only) or ("identity",)
        block = src.many(1, 1, GENERATE_KINDS["residual"].choices(b, hidden))[0]
    samples = _draw_samples(
        src, b, n_values, n_out, max(max_in, MAX_IMAGE_VALUES) if stem else max_in, loss, dtype
    )
    sizes = [n_in, *(r.size for r in layers)]
    placed = (
        None
        if block is None
        else GENERATE_KINDS["residual"].table(block, b, sizes, kink is not None, scale, dtype)
    )
    tables = _dense_tables(kind, layers, norms, sizes, scale, dtype, kink, placed)
    data = {
        "name": "generated-" + "-".join(str(n) for n in sizes),
        "description": f"drawn by {origin}",
        "dtype": dtype,
        "loss": loss,
        "optimizer": {"name": "sgd", "learning_rate": b.learning_rate},
        "input": {"size": n_in} if input_shape is None else {"shape": list(input_shape)},
        "layers": stem_tables + tables,
        "samples": samples,
        "weight_decay": _draw_decay(src, b),
    }
    case = Case.from_spec(parse_spec(data, "<generated>"))
    if b.avoid_kinks and _near_kink(case, 0 if kink is not None else None):
        src.reject()
    return case


def _norm_draw(b: Bounds, most: int) -> NormDraw | None:
    """How a norm after a layer is drawn (None where ``kinds`` allows none)."""
    norms = tuple(k for k in NORM_KINDS if k in b.kinds)
    return NormDraw(norms, b.norm_choices, most, b.frozen) if norms else None


def _dense_tables(
    kind: KindDraw,
    layers: list[_RawLayer],
    norms: list[Any],
    sizes: list[int],
    scale: float,
    dtype: str,
    kink: tuple[str, float | None] | None,
    placed: tuple[int, dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """The dense layers' tables, each hidden one followed by its norm where one was drawn, and
    the residual block ``placed = (p, table)`` before dense layer ``p``."""
    tables = []
    for i, r in enumerate(layers):
        if placed is not None and placed[0] == i:
            tables.append(placed[1])
        tables.append(kind.table(r, sizes[i], scale, dtype, kink is not None and i == 0))
        if i < len(norms) and norms[i] is not None:
            tables.append(norm_table(norms[i], (sizes[i + 1],), dtype, _decode))
    return tables


def _draw_decay(src: Source, b: Bounds) -> float:
    """``lambda``: the range's minimum (0 by default: no decay) half the time, else a value in
    the range, exactly representable in float32 (so the same number in either dtype). Drawn
    last, so a sample's other choices do not move with it."""
    lo, hi = b.weight_decay
    if lo == hi or src.integer(0, 1) == 0:
        return lo
    return float(_decode(src.words(1), lo, hi, "float32", lo)[0])


def _draw_samples(
    src: Source, b: Bounds, n_in: int, n_out: int, max_in: int, loss: str, dtype: str
) -> list[dict[str, list[float]]]:
    """The batch size, then one block of words, a row per possible sample.

    Like weights, the block is drawn at its largest (``batch x (max_in + max_out)``) and the last
    rows and columns used, so shrinking the batch or a width keeps the values the shrinker
    left nonzero. Cross-entropy targets are one-hot at ``word % n_out`` (0 shrinks to class 0)
    or, half the time, soft: weights in [0, 1] that need not sum to 1 (a delta ``o - t`` that
    assumes they do is wrong there); svm's are always one-hot. Binary cross-entropy targets are
    any values in [0, 1] (decoded from the words like the soft ones); squared-loss targets lie in
    ``input_range``.
    """
    batch = src.integer(*b.batch_size)
    max_out, rows = b.n_outputs[1], b.batch_size[1]
    block = src.words(rows * (max_in + max_out)).reshape(rows, -1)[rows - batch :]
    # Inputs shrink toward 1 (where the range allows): a zero input hides every weight it feeds.
    lo, hi = b.input_range
    x = _decode(block[:, max_in - n_in : max_in], lo, hi, dtype, 1.0 if lo <= 1 <= hi else None)
    soft = loss in TARGET_KINDS and src.choice(b.ce_targets) == "soft"
    if (loss in TARGET_KINDS and not soft) or loss in ONE_HOT:
        hot = block[:, -1] % n_out
        t = (np.arange(n_out) == hot[:, None]).astype(dtype)
    elif soft or loss in UNIT_TARGETS:  # any weights in [0, 1], not summing to 1
        t = _decode(block[:, block.shape[1] - n_out :], 0.0, 1.0, dtype)
    else:
        t = _decode(block[:, block.shape[1] - n_out :], *b.input_range, dtype)
    return [{"input": xi, "target": ti} for xi, ti in zip(x.tolist(), t.tolist(), strict=True)]


def _drawn_activations(b: Bounds) -> tuple[str, ...]:
    """What a drawn layer's activation is chosen from: every layer's, then the output's."""
    return tuple(dict.fromkeys((*b.activations, *(b.output_activations or ()))))


def served_losses(
    losses: tuple[str, ...], output_activations: tuple[str, ...] | None
) -> tuple[str, ...]:
    """The losses some allowed output activation can serve (cross-entropy needs softmax, binary
    cross-entropy sigmoid); all
    of them where the output layer is not bounded (None: it gets what its loss needs)."""
    if output_activations is None:
        return losses
    return tuple(x for x in losses if LOSSES[x].output_activation in (None, *output_activations))


def _mapped(r: _RawLayer, allowed: tuple[str, ...], acts: tuple[str, ...]) -> _RawLayer:
    """``r`` with its activation moved into ``allowed`` (by its position among the drawn ones,
    so the choice still shrinks toward the first), the slope drawn for it kept or set."""
    if r.activation in allowed:
        return r
    act = allowed[acts.index(r.activation) % len(allowed)]
    slope = (r.slope or LEAKY_SLOPES[0]) if _takes_slope(act) else None
    return replace(r, activation=act, slope=slope)


def _as_hidden(r: _RawLayer, b: Bounds, acts: tuple[str, ...]) -> _RawLayer:
    """A drawn layer below the output: width within ``widths``, a hidden activation."""
    size = min(max(r.size, b.widths[0]), b.widths[1])
    hidden = tuple(a for a in b.activations if not ACTIVATIONS[a].output_only)
    return replace(_mapped(r, hidden, acts), size=size)


def _as_output(r: _RawLayer, b: Bounds, loss: str, acts: tuple[str, ...]) -> _RawLayer:
    """The last drawn layer: width within ``n_outputs``, the activation the loss needs (softmax
    under cross-entropy) or one of the output activations; a softmax gets two units at least
    where the bounds allow (over one unit it is the constant 1, and every gradient below 0)."""
    needs = LOSSES[loss].output_activation
    if needs is not None:
        r = replace(r, activation=needs, slope=None)
    elif b.output_activations is not None:
        r = _mapped(r, b.output_activations, acts)
    two = ACTIVATIONS[r.activation].output_only or LOSSES[loss].one_hot  # svm: a class to beat
    low = max(b.n_outputs[0], 2 if two else 1)
    return replace(r, size=min(max(r.size, low), b.n_outputs[1]))


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
    table["bias"] = bias_table(r.bias_mode, bias_values, r.b_trainable)
    return table


def _near_kink(case: Case, kink_layer: int | None) -> bool:
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
        if kind == "residual" and _block_near_kink(fwd.caches[i]):
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


def _block_near_kink(cache: Any) -> bool:
    """A relu-like pre-activation inside a residual block (the hand forward's cache: the block's
    nets and its inner layers) within the margin of 0, nested blocks included."""
    block, inner = cache
    for j, (kind, _, act, _) in enumerate(inner):
        if act in KINKED and np.any(np.abs(block.nets[j]) < KINK_MARGIN):
            return True
        if kind == "residual" and _block_near_kink(block.caches[j]):
            return True
    return False


@dataclass(frozen=True)
class KindDraw:
    """How the generator draws one layer kind: ``choices(...)`` builds a draw of one layer's
    choices, ``table(choices, ...)`` its spec table. Dense: ``choices(bounds, activations, widths,
    max_in, max_out)``, ``table(choices, n_in, scale, dtype, kinked)``; the image kinds:
    :class:`~gradcheck.generate.images.StageDraw` and
    :func:`~gradcheck.generate.images.image_tables` (flatten closes every image stem); rnn:
    :class:`~gradcheck.generate.sequences.RnnDraw` and
    :func:`~gradcheck.generate.sequences.sequence_tables`."""

    choices: Callable[..., Any]
    table: Callable[..., Any]


GENERATE_KINDS: Registry[KindDraw] = Registry("network generator", "layer kind")
GENERATE_KINDS.add("dense", KindDraw(_LayerDraw, _layer_table))
for _kind in (*IMAGE_KINDS, "flatten"):
    GENERATE_KINDS.add(_kind, KindDraw(StageDraw, image_tables))
GENERATE_KINDS.add("rnn", KindDraw(RnnDraw, sequence_tables))
for _kind in NORM_KINDS:  # after a hidden dense layer or a conv stage
    GENERATE_KINDS.add(_kind, KindDraw(NormDraw, norm_table))
DRAWN_KIND = "dense"  # the kind generated networks are built of today


# The residual block is drawn of dense layers drawn as above, so it registers once they exist.
from gradcheck.generate import residual_draws  # noqa: E402, F401
