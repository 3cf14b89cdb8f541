"""A network that is not all dense, sketched for the report's diagram: one block per layer.

Each block is the layer's kind with its settings (``conv2d 4@3x3 relu``, ``max_pool2d 2x2``,
``rnn 3 tanh last state``, ``residual [dense relu, dense] relu``) and the shape of one sample
after it (``4x6x6``), the input first.
"""

from __future__ import annotations

from typing import Any, TypedDict

from gradcheck.spec import Spec

__all__ = ["BlockSketch", "layer_blocks"]


class BlockSketch(TypedDict):
    """One layer of a network that is not all dense, drawn as a box: its kind and settings
    (``conv2d 4@3x3 relu``) and the shape of one sample after it (``4x6x6``)."""

    caption: str
    shape: str


def layer_blocks(spec: Spec) -> list[BlockSketch]:
    """The input and each layer: kind, settings, activation; each sample's shape after it."""
    blocks = [BlockSketch(caption="input", shape=_shape(spec.shapes[0]))]
    for i, (kind, options) in enumerate(zip(spec.kinds, spec.options, strict=True)):
        group = {**spec.frozen_params()[i], **spec.initial_params()[i]}
        settings: dict[str, Any] = dict(options)
        caption = kind
        if kind == "residual":  # its inner layers' kinds and activations, F of x + F(x)
            inner = settings.pop("layers")
            caption += " [" + ", ".join(_inner(k, act) for k, _, act, _ in inner) + "]"
        if "W" in group and kind != "dense":
            w = group["W"]
            caption += f" {w.shape[0]}@{'x'.join(str(n) for n in w.shape[2:])}"
        if "kernel" in settings and kind != "conv2d":
            caption += " " + "x".join(str(n) for n in settings["kernel"])
        stride = settings.get("stride", 1)
        if stride not in (1, (1, 1), settings.get("kernel")):  # pooling strides by its window
            caption += " stride " + (str(stride) if isinstance(stride, int) else _shape(stride))
        if "Wxh" in group:  # rnn: its units and which states it emits
            every = settings.get("all_states")
            caption += f" {group['Wxh'].shape[0]} tanh {'all states' if every else 'last state'}"
        if "rate" in settings:
            caption += f" rate {settings['rate']:g}"
        if "eps" in settings:  # a norm
            caption += f" eps {settings['eps']:g}"
        if settings.get("padding"):
            caption += f" pad {settings['padding']}"
        if spec.activations[i] != "identity":
            caption += f" {spec.activations[i]}"
        blocks.append(BlockSketch(caption=caption, shape=_shape(spec.shapes[i + 1])))
    return blocks


def _inner(kind: str, activation: str) -> str:
    return kind if activation == "identity" else f"{kind} {activation}"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)
