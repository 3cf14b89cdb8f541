"""What generated networks may be: :class:`Bounds` (every argument of
:func:`~gradcheck.networks`, validated once) and the constants the draws share."""

from __future__ import annotations

from dataclasses import dataclass

from gradcheck.layers import ACTIVATIONS, LOSSES

__all__ = [
    "KINKED",
    "KINK_MARGIN",
    "LEAKY_SLOPES",
    "ONE_HOT",
    "SATURATING_SCALE",
    "TARGET_KINDS",
    "UNIT_TARGETS",
    "Bounds",
    "drawn_activations",
    "hidden_activations",
    "served_losses",
    "takes_slope",
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


def takes_slope(activation: str) -> bool:
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
    # whether a kind that is often first gets a trainable layer below it, so that its input
    # gradient reaches parameters: an image stem a conv stage under its other stage (where conv2d
    # is allowed), a residual block a dense layer (where the network has one to spare)
    layer_below: tuple[bool, ...] = (False, True)
    above_conv: tuple[str, ...] = ()  # the kinds of that conv's other stage (): any image kind
    # with norm kinds: whether a hidden dense layer or a conv stage is followed by a norm
    norm_choices: tuple[bool, ...] = (False, True)


def hidden_activations(b: Bounds) -> tuple[str, ...]:
    """The activations a layer below the output may have: those of ``activations`` that are
    not output-only (softmax)."""
    return tuple(a for a in b.activations if not ACTIVATIONS[a].output_only)


def drawn_activations(b: Bounds) -> tuple[str, ...]:
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
