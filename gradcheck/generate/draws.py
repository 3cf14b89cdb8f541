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

from gradcheck.generate.bounds import (
    KINKED,
    LEAKY_SLOPES,
    ONE_HOT,
    SATURATING_SCALE,
    TARGET_KINDS,
    UNIT_TARGETS,
    Bounds,
    drawn_activations,
    hidden_activations,
    served_losses,
    takes_slope,
)
from gradcheck.generate.case import Case
from gradcheck.generate.dense_draws import LayerDraw, RawLayer, as_hidden, as_output, layer_table
from gradcheck.generate.images import (
    IMAGE_KINDS,
    MAX_FLAT_VALUES,
    MAX_IMAGE_VALUES,
    MAX_STAGES,
    StageDraw,
    image_shape,
    image_tables,
)
from gradcheck.generate.near_kinks import near_kink
from gradcheck.generate.norms import NORM_KINDS, NormDraw, norm_table
from gradcheck.generate.sequences import (
    MAX_SEQUENCE_VALUES,
    SEQUENCE_KINDS,
    RnnDraw,
    sequence_tables,
)
from gradcheck.generate.sources import Source
from gradcheck.generate.tables import decode
from gradcheck.layers import LOSSES, Registry
from gradcheck.spec import parse_spec

__all__ = ["DRAWN_KIND", "GENERATE_KINDS", "KindDraw", "build_case"]


def build_case(src: Source, b: Bounds, origin: str) -> Case:
    """Draw shape first, then values; build the spec through parse_spec so it is valid."""
    # All layers first, as one list whose last element becomes the output layer: Hypothesis
    # prefers a smaller first choice (fewer layers beats a narrower input), and deleting the last
    # element leaves a network whose new output layer keeps its activation, bias and flags.
    # Whether the network starts with a stem comes first, where stems are allowed: a dense first
    # layer draws its words for the widest input it may get, which only a stem makes wide.
    images = tuple(k for k in IMAGE_KINDS if k in b.kinds)
    sequences = any(k in b.kinds for k in SEQUENCE_KINDS)
    has_image = bool(images) and not b.target_kinks and src.choice(b.images)
    has_rnn = sequences and not has_image and not b.target_kinks and src.choice(b.sequences)
    stem_values = max(MAX_FLAT_VALUES if has_image else 0, MAX_SEQUENCE_VALUES if has_rnn else 0)
    max_in = max(b.n_inputs[1], b.widths[1], stem_values)
    any_width = (min(b.widths[0], b.n_outputs[0]), max(b.widths[1], b.n_outputs[1]))
    kind = GENERATE_KINDS[DRAWN_KIND]
    acts = drawn_activations(b)
    drawn = src.many(*b.depth, kind.choices(b, acts, any_width, max_in, any_width[1]))
    n_in = src.integer(*b.n_inputs)
    kink: tuple[str, float | None] | None = None
    if b.target_kinks:
        act = src.choice([a for a in b.activations if a in KINKED])
        kink = (act, src.choice(LEAKY_SLOPES) if takes_slope(act) else None)
    stem = None
    if has_image:  # a targeted kink stays dense
        hidden = hidden_activations(b) or ("identity",)
        shape = image_shape(src)
        after_conv = _norm_draw(b, MAX_FLAT_VALUES)

        def stage(kinds: tuple[str, ...]) -> StageDraw:
            return StageDraw(kinds, hidden, b.bias_modes, LEAKY_SLOPES, after_conv)

        if "conv2d" in images and src.choice(b.layer_below):
            # the other stage's input gradient reaches the conv's parameters
            stages = [stage(("conv2d",))(src), stage(b.above_conv or images)(src)]
        else:
            stages = src.many(1, MAX_STAGES, stage(images))
        stem = (shape, stages)
    rnn = None
    if has_rnn:
        rnn = RnnDraw(b.bias_modes, b.frozen, "flatten" in b.kinds)(src)
    losses = served_losses(b.losses, b.output_activations)
    if kink is not None and len(drawn) == 1:  # the kinked first layer is the output
        losses = tuple(x for x in losses if LOSSES[x].output_activation is None)
    loss = src.choice(losses)
    layers = [as_hidden(r, b, acts) for r in drawn[:-1]]
    layers += [as_output(drawn[-1], b, loss, acts)]
    if kink is not None:
        layers[0] = replace(layers[0], activation=kink[0], slope=kink[1])
    n_out = layers[-1].size
    after_dense = _norm_draw(b, b.widths[1])
    norms = [after_dense(src) for _ in layers[:-1]] if after_dense is not None else []
    dtype = src.choice(b.dtypes)
    saturate = b.saturating and src.integer(0, 1) == 1
    scale = float(
        decode(src.words(1), *(SATURATING_SCALE if saturate else b.weight_scale), "float64")[0]
    )

    stem_tables: list[dict[str, Any]] = []
    n_values, input_shape = n_in, None
    if stem is not None:
        stem_tables, n_in = image_tables(*stem, scale, dtype, decode)
        n_values, input_shape = int(np.prod(stem[0])), stem[0]
    if rnn is not None:
        input_shape, stem_tables, n_in = sequence_tables(rnn, scale, dtype, decode)
        n_values = int(np.prod(input_shape))
    block = None
    if "residual" in b.kinds and src.choice(b.residual):
        hidden = hidden_activations(b) or ("identity",)
        block = src.many(1, 1, GENERATE_KINDS["residual"].choices(b, hidden))[0]
    widest = max(max_in, MAX_IMAGE_VALUES) if stem else max_in
    raw = _draw_samples(src, b, widest, loss)
    sizes = [n_in, *(r.size for r in layers)]
    placed = (
        None
        if block is None
        else GENERATE_KINDS["residual"].table(block, b, sizes, kink is not None, scale, dtype)
    )
    tables = _dense_tables(kind, layers, norms, sizes, scale, dtype, kink, placed)
    # a batch_norm normalises a batch of 1 to 0 (the spec refuses it): a second sample, drawn
    # with the first (the bounds drop batch_norm where the batch is at most 1)
    batch = 2 if raw.batch == 1 and _has_batch_norm(stem_tables + tables) else raw.batch
    samples = _samples(raw, batch, b, (n_values, n_out, widest), loss, dtype)
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
    if b.avoid_kinks and near_kink(case, 0 if kink is not None else None):
        src.reject()
    return case


def _norm_draw(b: Bounds, most: int) -> NormDraw | None:
    """How a norm after a layer is drawn (None where ``kinds`` allows none)."""
    norms = tuple(k for k in NORM_KINDS if k in b.kinds)
    return NormDraw(norms, b.norm_choices, most, b.frozen) if norms else None


def _dense_tables(
    kind: KindDraw,
    layers: list[RawLayer],
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
            tables.append(norm_table(norms[i], (sizes[i + 1],), dtype, decode))
    return tables


def _draw_decay(src: Source, b: Bounds) -> float:
    """``lambda``: the range's minimum (0 by default: no decay) half the time, else a value in
    the range, exactly representable in float32 (so the same number in either dtype). Drawn
    last, so a sample's other choices do not move with it."""
    lo, hi = b.weight_decay
    if lo == hi or src.integer(0, 1) == 0:
        return lo
    return float(decode(src.words(1), lo, hi, "float32", lo)[0])


@dataclass(frozen=True)
class RawSamples:
    """The drawn batch size and a block of words, a row per possible sample (``soft``: soft
    cross-entropy targets); decoded by :func:`_samples` once the network is known."""

    batch: int
    block: NDArray[np.uint16]
    soft: bool


def _draw_samples(src: Source, b: Bounds, max_in: int, loss: str) -> RawSamples:
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
    block = src.words(rows * (max_in + max_out)).reshape(rows, -1)
    soft = loss in TARGET_KINDS and src.choice(b.ce_targets) == "soft"
    return RawSamples(batch, block, soft)


def _samples(
    raw: RawSamples, batch: int, b: Bounds, shape: tuple[int, int, int], loss: str, dtype: str
) -> list[dict[str, list[float]]]:
    """The last ``batch`` rows of ``raw``'s block as samples; ``shape``: ``(n_in, n_out,
    max_in)``, the values an input and a target take and the widest input drawn for."""
    n_in, n_out, max_in = shape
    block = raw.block[len(raw.block) - batch :]
    # Inputs shrink toward 1 (where the range allows): a zero input hides every weight it feeds.
    lo, hi = b.input_range
    x = decode(block[:, max_in - n_in : max_in], lo, hi, dtype, 1.0 if lo <= 1 <= hi else None)
    if (loss in TARGET_KINDS and not raw.soft) or loss in ONE_HOT:
        hot = block[:, -1] % n_out
        t = (np.arange(n_out) == hot[:, None]).astype(dtype)
    elif raw.soft or loss in UNIT_TARGETS:  # any weights in [0, 1], not summing to 1
        t = decode(block[:, block.shape[1] - n_out :], 0.0, 1.0, dtype)
    else:
        t = decode(block[:, block.shape[1] - n_out :], *b.input_range, dtype)
    return [{"input": xi, "target": ti} for xi, ti in zip(x.tolist(), t.tolist(), strict=True)]


def _has_batch_norm(tables: list[dict[str, Any]]) -> bool:
    """A ``batch_norm`` among ``tables``, inside residual blocks too."""
    return any(
        t.get("kind") == "batch_norm" or _has_batch_norm(t.get("layers", [])) for t in tables
    )


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
GENERATE_KINDS.add("dense", KindDraw(LayerDraw, layer_table))
for _kind in (*IMAGE_KINDS, "flatten"):
    GENERATE_KINDS.add(_kind, KindDraw(StageDraw, image_tables))
GENERATE_KINDS.add("rnn", KindDraw(RnnDraw, sequence_tables))
for _kind in NORM_KINDS:  # after a hidden dense layer or a conv stage
    GENERATE_KINDS.add(_kind, KindDraw(NormDraw, norm_table))
DRAWN_KIND = "dense"  # the kind generated networks are built of today


# The residual block is drawn of dense layers drawn as above, so it registers once they exist.
from gradcheck.generate import residual_draws  # noqa: E402, F401
