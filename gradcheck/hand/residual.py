"""The ``residual`` layer kind, derived by hand: ``net = x + F(x)``, ``out = act(net)``.

``F`` runs the block's inner layers in order, each ``o_j = act_j(kind_j(o_{j-1}))`` with
``o_0 = x``, through this side's own kinds and activations (:data:`HAND_KINDS`,
:data:`HAND_ACTIVATIONS`); the cache keeps every inner net, out and cache. Backward, given
``delta = dE/dnet``:

* through the block: ``g = delta`` at ``o_J``; for ``j = J..1``: ``delta_j = J_act_j^T g``,
  then the inner kind's backward gives ``dE/d its groups`` and ``g = dE/do_{j-1}``;
* ``dE/dx = delta + g``: the skip carries ``delta`` to ``x`` unchanged (``d x / d x = I``), the
  block adds what came back through it.

The groups of inner layer ``j`` are named ``"j.G"`` in the block's dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gradcheck.hand.activations import HAND_ACTIVATIONS
from gradcheck.hand.kinds import HAND_KINDS, Groups, HandKind, Options
from gradcheck.layers.residual import inner_groups, prefixed
from gradcheck.spec import Array

__all__ = ["BlockCache"]


@dataclass(frozen=True)
class BlockCache:
    """What the block's forward kept: ``nets[j]`` and ``outs[j + 1]`` of inner layer ``j``
    (``outs[0]`` is the block's input ``x``), ``caches[j]`` its kind's cache."""

    nets: list[Array]
    outs: list[Array]
    caches: list[Any]


def _forward(layer: Groups, x: Array, options: Options) -> tuple[Array, Any]:
    nets: list[Array] = []
    outs: list[Array] = [x]
    caches: list[Any] = []
    for j, (kind, inner_options, act, slope) in enumerate(options["layers"]):
        net, cache = HAND_KINDS[kind].forward(inner_groups(layer, j), outs[-1], dict(inner_options))
        nets.append(net)
        caches.append(cache)
        outs.append(HAND_ACTIVATIONS[act].value(net, slope))
    skip_plus_block: Array = x + outs[-1]
    return skip_plus_block, (BlockCache(nets, outs, caches), options["layers"])


def _backward(
    delta: Array, cache: Any, layer: Groups, wanted: frozenset[str]
) -> tuple[Array, Groups]:
    block, inner = cache
    grads: Groups = {}
    g = delta  # dE/do_J: the block's output enters net = x + o_J with coefficient 1
    for j in reversed(range(len(inner))):
        kind, _, act, slope = inner[j]
        inner_delta = HAND_ACTIVATIONS[act].backward(g, block.nets[j], block.outs[j + 1], slope)
        head = prefixed(j, "")
        inner_wanted = frozenset(k.removeprefix(head) for k in wanted if k.startswith(head))
        g, inner_grads = HAND_KINDS[kind].backward(
            inner_delta, block.caches[j], inner_groups(layer, j), inner_wanted
        )
        grads.update({prefixed(j, k): a for k, a in inner_grads.items()})
    dx: Array = delta + g  # the skip's delta plus the block's
    return dx, grads


HAND_KINDS.add("residual", HandKind(_forward, _backward))
