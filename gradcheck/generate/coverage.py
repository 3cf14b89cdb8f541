"""The first networks of a seeded sample cover every path: a plan that narrows each one's bounds.

Random draws reach a rare path (softmax under a squared loss, a soft cross-entropy target) only now
and then, so a default run of ten networks could miss it. :func:`planned_bounds` narrows the bounds
of case ``index`` so that the first cases of ``sample_networks`` take, in turn: softmax under each
squared loss, cross-entropy with soft and with one-hot targets, each other loss that forces an
output activation (binary cross-entropy: sigmoid), each of these with a batch of two or more (where
a reduction over samples shows), then each again with a batch of one (where the bounds allow both:
code that squeezes or counts its targets' rows goes wrong there), each hidden activation (with at
least one hidden layer), each dtype and each bias mode, no weight decay and the largest one
allowed, and (where the bounds allow image kinds or rnn) an image stem with each of them (above a
conv stage where conv2d is allowed, so that its input gradient reaches the conv's parameters; a
conv above another) and a sequence stem (an rnn), then (where they allow ``residual``) a residual
block above a dense layer, (where they allow norm kinds) each norm after every hidden layer and
conv stage, all within the bounds given (a choice they exclude is left out of the plan). Later
cases are drawn from the bounds unchanged.
The seed rotates the cycles, so another seed pairs them differently.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from gradcheck.generate.bounds import TARGET_KINDS, Bounds, hidden_activations, served_losses
from gradcheck.generate.images import IMAGE_KINDS
from gradcheck.generate.norms import NORM_KINDS
from gradcheck.generate.sequences import SEQUENCE_KINDS
from gradcheck.layers import ACTIVATIONS, LOSSES

__all__ = ["plan_length", "planned_bounds"]

_OUTPUT_ONLY = tuple(name for name, a in ACTIVATIONS.items() if a.output_only)  # softmax


def _loss_plan(b: Bounds) -> list[dict[str, Any]]:
    """Softmax under each loss that does not force an output activation, then each loss that
    forces one, once per kind of target where its targets have kinds (cross-entropy: one-hot
    and soft)."""
    outs = b.activations if b.output_activations is None else b.output_activations
    steps: list[dict[str, Any]] = []
    for loss in served_losses(b.losses, b.output_activations):
        if LOSSES[loss].output_activation is None:
            steps += [
                {"losses": (loss,), "output_activations": (a,)} for a in _OUTPUT_ONLY if a in outs
            ]
        elif loss in TARGET_KINDS:
            steps += [{"losses": (loss,), "ce_targets": (kind,)} for kind in b.ce_targets]
        else:
            steps.append({"losses": (loss,)})
    return steps


def _rounds(b: Bounds) -> int:
    """Rounds of the loss plan: batches of two or more, then (where the bounds allow both) a
    batch of one."""
    return 2 if b.batch_size[0] == 1 < b.batch_size[1] else 1


def _decays(b: Bounds) -> list[tuple[float, float]]:
    """The weight decay's two ends (one where the range is a single value)."""
    lo, hi = b.weight_decay
    return [(lo, lo), (hi, hi)] if lo < hi else [(lo, hi)]


def _images(b: Bounds) -> tuple[str, ...]:
    """The stem kinds planned, one per case (none under a targeted kink): each image kind, then
    rnn (a sequence stem)."""
    stems = (*IMAGE_KINDS, *SEQUENCE_KINDS)
    return () if b.target_kinks else tuple(k for k in stems if k in b.kinds)


def _blocks(b: Bounds) -> int:
    """1 where a residual block is planned (after the stems: the case after them has one)."""
    return int("residual" in b.kinds and True in b.residual)


def _norms(b: Bounds) -> tuple[str, ...]:
    """The norm kinds planned, one per case, after every hidden layer and conv stage."""
    return tuple(k for k in NORM_KINDS if k in b.kinds)


@lru_cache(maxsize=64)
def plan_length(b: Bounds) -> int:
    """How many first cases the plan narrows (kept per bounds: every case of a sample asks)."""
    cycles = [_rounds(b) * len(_loss_plan(b)), len(b.dtypes), len(b.bias_modes), len(_decays(b))]
    cycles += [len(_images(b)) + _blocks(b), len(_norms(b))]
    if b.depth[1] >= 2 and not b.target_kinks:
        cycles.append(len(hidden_activations(b)))
    return max(cycles)


def planned_bounds(b: Bounds, seed: int, index: int) -> Bounds:
    """The bounds case ``index`` of a sample seeded ``seed`` is drawn from."""
    if index >= plan_length(b):
        return b
    losses = _loss_plan(b)
    planned = index < _rounds(b) * len(losses)
    changes: dict[str, Any] = dict(losses[index % len(losses)]) if planned else {}
    if planned and index >= len(losses):  # the second round: a batch of one
        changes["batch_size"] = (1, 1)
    elif changes and b.batch_size[1] >= 2:  # a reduction's 1/B is invisible in a batch of one
        changes["batch_size"] = (max(2, b.batch_size[0]), b.batch_size[1])
    forced = "losses" in changes and LOSSES[changes["losses"][0]].output_activation is not None
    if b.target_kinks and forced:  # the kinked first layer is not the output
        if b.depth[1] < 2:
            changes = {}
        else:
            changes["depth"] = (max(2, b.depth[0]), b.depth[1])
    hidden = hidden_activations(b)
    if b.depth[1] >= 2 and hidden and not b.target_kinks:  # a targeted kink picks its own
        act = hidden[(index + seed) % len(hidden)]
        changes["activations"] = (act,)
        changes["depth"] = (max(2, b.depth[0]), b.depth[1])
        served = served_losses(b.losses, (act,))
        if "losses" not in changes and b.output_activations is None and served:
            changes.update(output_activations=(act,), losses=served)  # the output layer too
    norms = _norms(b)
    kinds = b.kinds
    if index < len(norms):  # this norm after every hidden layer (and conv stage)
        kinds = tuple(k for k in b.kinds if k not in norms or k == norms[index])
        changes.update(norm_choices=(True,), kinds=kinds)
        if b.depth[1] >= 2:
            changes["depth"] = (max(2, b.depth[0]), b.depth[1])
    images = _images(b)
    kept = tuple(k for k in kinds if k in NORM_KINDS)
    if index < len(images) and images[index] in SEQUENCE_KINDS:  # rnn, then the dense layers
        stem = tuple(k for k in ("dense", "flatten") if k in b.kinds)
        changes.update(sequences=(True,), kinds=(*stem, images[index], *kept))
    elif index < len(images):  # a stem of this kind, then flatten and the dense layers
        below = ("conv2d",) if "conv2d" in b.kinds else ()
        stages: tuple[str, ...] = tuple(dict.fromkeys((images[index], *below)))
        changes.update(images=(True,), kinds=("dense", "flatten", *stages, *kept))
        if "conv2d" in b.kinds:  # above a conv stage: its input gradient reaches parameters
            changes.update(layer_below=(True,), above_conv=(images[index],))
    if _blocks(b) and index == len(images):  # a residual block above a dense layer
        changes.update(residual=(True,), images=(False,), sequences=(False,), layer_below=(True,))
        if b.depth[1] >= 2:  # a dense layer below the block, where the bounds allow one
            changes["depth"] = (max(2, b.depth[0]), b.depth[1])
    if changes.get("batch_size") == (1, 1):  # no batch_norm over one sample (it is refused);
        # the norm plan's batch_norm case is case 0, in the first round
        changes["kinds"] = tuple(k for k in changes.get("kinds", b.kinds) if k != "batch_norm")
    changes["dtypes"] = (b.dtypes[(index + seed) % len(b.dtypes)],)
    changes["bias_modes"] = (b.bias_modes[(index + seed) % len(b.bias_modes)],)
    decays = _decays(b)
    changes["weight_decay"] = decays[(index + seed) % len(decays)]
    return replace(b, **changes)
