"""The ``residual`` layer kind, declared once: ``out = act(x + F(x))``, ``F`` a block of layers.

``F`` is the block's own ``layers = [{...}, ...]``: inner tables of any whole-network kind
(dense, conv2d, pooling, dropout, flatten, another residual), applied in order, each with its own
activation; the block's output must have its input's shape, so the skip ``x`` adds elementwise.
``activation`` (default ``identity``) is applied after the add, ResNet style ``relu(x + F(x))``;
the sides apply it as they apply any layer's activation, to the pre-activation ``x + F(x)``.

Parameters: one dict for the block, its inner layers' groups under prefixed names, ``"j.G"`` for
group ``G`` of inner layer ``j`` (0-based, as ``layers[j]`` in the table), so ``"1.W"`` is the
second inner layer's ``W`` and ``"0.1.b"`` the bias of inner layer 1 of a residual nested as
inner layer 0. A failure then reads ``layer 3 1.W[2,0]``. The functions here take ``kind_of``
(the declarations' lookup) as an argument: the block is made of the other declared kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field

from gradcheck.layers.activations import ACTIVATIONS
from gradcheck.layers.tables import ActivationName, FiniteFloat, Numbers, Table

if TYPE_CHECKING:
    from typing import TypeAlias

    Layer: TypeAlias = Any  # the spec's layer union; resolved by gradcheck.spec.schema

__all__ = ["ResidualLayer", "inner_groups", "prefixed"]

GLYPH = "skip"  # the report draws a block with its skip connection around it
FORWARD = (
    "net_l = out_{l-1} + F(out_{l-1}) with F the block's `layers` applied in order (each its own "
    "kind and activation), out_l = act_l(net_l); its groups are the inner layers' under `j.G`"
)
Shape = tuple[int, ...]
Group = tuple[np.ndarray, bool]
KindOf = Callable[[Any], Any]  # gradcheck.layers.kind_of: a table -> its LayerKind


class ResidualLayer(Table):
    """A residual block: ``layers``, the inner tables ``F`` is made of (output shaped like the
    input), and ``activation`` (with ``slope`` for leaky_relu) applied to ``x + F(x)``."""

    kind: Literal["residual"]
    layers: list[Layer] = Field(min_length=1)
    activation: ActivationName = "identity"
    slope: FiniteFloat | None = Field(default=None, ge=0)


def prefixed(j: int, group: str) -> str:
    """Inner layer ``j``'s group ``group`` as the block names it: ``"j.group"``."""
    return f"{j}.{group}"


def inner_groups(groups: dict[str, Any], j: int) -> dict[str, Any]:
    """Inner layer ``j``'s groups out of the block's dict, unprefixed (``"1.W"`` -> ``"W"``)."""
    head = f"{j}."
    return {k.removeprefix(head): a for k, a in groups.items() if k.startswith(head)}


def _inner_shapes(layer: ResidualLayer, shape: Shape, kind_of: KindOf) -> list[Shape]:
    shapes = [shape]
    for inner in layer.layers:
        shapes.append(kind_of(inner).shape_after(inner, shapes[-1]))
    return shapes


def _sized_field(inner: Any) -> str:
    """The field that sets an inner layer's output shape, for the shape error."""
    for field in ("size", "channels"):
        if field in type(inner).model_fields:
            return f".{field}"
    return ""


def problems(layer: ResidualLayer, at: str, shape: Shape, kind_of: KindOf) -> list[str]:
    """Each inner layer's problems, inner activations that are not elementwise, the outer slope,
    and a block whose output shape differs from its input's."""
    found: list[str] = []
    shapes = [shape]
    for j, inner in enumerate(layer.layers):
        where = f"{at}.layers[{j}]"
        kind = kind_of(inner)
        inner_found = kind.problems(inner, where, shapes[-1])
        act = str(getattr(inner, "activation", "identity"))
        if ACTIVATIONS[act].output_only:
            inner_found.append(
                f"{where}.activation: {act} is allowed on the output layer only, not inside "
                "a residual block"
            )
        found.extend(inner_found)
        if inner_found:
            return found
        shapes.append(kind.shape_after(inner, shapes[-1]))
    takes_slope = ACTIVATIONS[layer.activation].takes_slope
    if takes_slope != (layer.slope is not None):
        found.append(
            f"{at}.slope: leaky_relu and only leaky_relu takes a slope "
            f"(got {layer.slope!r} with {layer.activation})"
        )
    if shapes[-1] != shape:
        last = len(layer.layers) - 1
        found.append(
            f"{at}.layers[{last}]{_sized_field(layer.layers[last])}: the block's output has "
            f"shape {list(shapes[-1])} but its input {list(shape)}: x + F(x) needs them equal"
        )
    return found


def n_params(layer: ResidualLayer, shape: Shape, kind_of: KindOf) -> int:
    shapes = _inner_shapes(layer, shape, kind_of)
    return sum(kind_of(t).n_params(t, s) for t, s in zip(layer.layers, shapes, strict=False))


def groups(
    layer: ResidualLayer, shape: Shape, dtype: np.dtype[Any], kind_of: KindOf
) -> dict[str, Group]:
    """Every inner layer's groups, prefixed ``j.``."""
    shapes = _inner_shapes(layer, shape, kind_of)
    return {
        prefixed(j, g): value
        for j, (inner, s) in enumerate(zip(layer.layers, shapes, strict=False))
        for g, value in kind_of(inner).groups(inner, s, dtype).items()
    }


def decayed(layer: ResidualLayer, kind_of: KindOf) -> frozenset[str]:
    """The inner layers' decayed groups (their kinds' declarations, nested ones too), prefixed."""
    return frozenset(
        prefixed(j, g) for j, inner in enumerate(layer.layers) for g in decayed_of(inner, kind_of)
    )


def decayed_of(table: Any, kind_of: KindOf) -> frozenset[str]:
    """A table's decayed groups: its kind's, or a block's prefixed inner ones."""
    if isinstance(table, ResidualLayer):
        return decayed(table, kind_of)
    found: frozenset[str] = kind_of(table).decayed
    return found


def options(layer: ResidualLayer, kind_of: KindOf) -> dict[str, Any]:
    """``layers``: per inner layer ``(kind, sorted options, activation, slope)``, hashable."""
    inner = tuple(
        (
            t.kind,
            tuple(sorted(kind_of(t).options(t).items())),
            str(getattr(t, "activation", "identity")),
            float(getattr(t, "slope", None) or 0.0),
        )
        for t in layer.layers
    )
    return {"layers": inner}


def param_names(layer: ResidualLayer, i: int, kind_of: KindOf) -> Iterator[tuple[str, Any]]:
    """The inner layers' display names, located in the block's prefixed groups."""
    for j, inner in enumerate(layer.layers):
        for name, (_, group, index) in kind_of(inner).param_names(inner, i):
            yield name, (i, prefixed(j, group), index)


def named(layer: ResidualLayer, at: str, kind_of: KindOf) -> Iterator[tuple[str, str]]:
    for j, inner in enumerate(layer.layers):
        yield from kind_of(inner).named(inner, f"{at}.layers[{j}]")


def numbers(layer: ResidualLayer, at: str, kind_of: KindOf) -> Numbers:
    for j, inner in enumerate(layer.layers):
        yield from kind_of(inner).numbers(inner, f"{at}.layers[{j}]")
    if layer.slope is not None:
        yield f"{at}.slope", layer.slope
