"""Inline SVG for the report: a network diagram, log-scale line plots and error histograms.

Every function takes plain data and returns :class:`markupsafe.Markup`. Text that may come from
a spec or a user (unit names, weight labels, series names) is always passed through
``Markup.format``, which escapes it, so a label like ``<script>`` is drawn as text.
No plotting library, no scripts, no external resources: the SVG is self-contained.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TypedDict

from markupsafe import Markup

from gradcheck.report.data import BiasSketch, BlockSketch, NetworkSketch

__all__ = [
    "Series",
    "error_histogram",
    "log_ticks",
    "loss_plot",
    "network_diagram",
]

FONT = "font-family='ui-monospace,Menlo,Consolas,monospace'"


class Series(TypedDict):
    """One line of a plot: y values at x = ``x0 + i * dx``; ``dashed`` draws it dashed."""

    label: str
    values: list[float]
    color: str
    dashed: bool


def _num(x: float) -> str:
    return f"{x:.6g}"


def _svg(width: float, height: float, body: Sequence[Markup], title: str) -> Markup:
    head = Markup(
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {w} {h}' width='{w}' height='{h}' "
        "role='img' aria-label='{t}' " + FONT + " font-size='11'><title>{t}</title>"
    ).format(w=round(width), h=round(height), t=title)
    return head + Markup("").join(body) + Markup("</svg>")


def _text(x: float, y: float, text: str, anchor: str = "middle", extra: str = "") -> Markup:
    return Markup(
        "<text x='{x:.1f}' y='{y:.1f}' text-anchor='{a}' " + extra + ">{t}</text>"
    ).format(x=x, y=y, a=anchor, t=text)


def network_diagram(sketch: NetworkSketch, title: str = "network") -> Markup:
    """Units as circles in columns, every weight an edge labelled ``name = value`` near its
    source unit, biases as squares under their layer (dashed when frozen); a network with other
    kinds than dense as a row of blocks, one per layer."""
    if sketch["blocks"]:
        return _block_diagram(sketch["blocks"], title)
    units = sketch["units"]
    col, row, r = 190.0, 70.0, 17.0
    tallest = max(len(layer) for layer in units)
    width = col * (len(units) - 1) + 2 * 60
    shared_bias = any(b is not None and b["shared"] for b in sketch["biases"])
    height = row * tallest + (90 if shared_bias else 40)
    xs = [60 + col * i for i in range(len(units))]

    def y(layer: int, j: int) -> float:
        return 30 + row * (j + 0.5) + row * (tallest - len(units[layer])) / 2

    edges: list[Markup] = []
    labels: list[Markup] = []
    for i, (w, names) in enumerate(zip(sketch["weights"], sketch["weight_labels"], strict=True)):
        for out, (w_row, n_row) in enumerate(zip(w, names, strict=True)):
            for inp, (value, name) in enumerate(zip(w_row, n_row, strict=True)):
                x0, y0, x1, y1 = xs[i], y(i, inp), xs[i + 1], y(i + 1, out)
                edges.append(
                    Markup(
                        "<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#9aa5b1'/>"
                    ).format(x0, y0, x1, y1)
                )
                t = 0.3
                lx, ly = x0 + t * (x1 - x0), y0 + t * (y1 - y0) - 3
                label = f"{name} = {_num(value)}" if name else _num(value)
                labels.append(_text(lx, ly, label, extra="class='edge-label'"))
    nodes: list[Markup] = []
    for i, layer in enumerate(units):
        act = "input" if i == 0 else sketch["activations"][i - 1]
        nodes.append(_text(xs[i], 16, act, extra="fill='#52606d'"))
        for j, name in enumerate(layer):
            nodes.append(
                Markup(
                    "<circle cx='{:.1f}' cy='{:.1f}' r='{}' fill='#e6f0ff' stroke='#3b6fb6'/>"
                ).format(xs[i], y(i, j), r)
            )
            nodes.append(_text(xs[i], y(i, j) + 4, name, extra="font-weight='600'"))
    for i, bias in enumerate(sketch["biases"], start=1):
        if bias is not None:
            nodes.extend(_bias(bias, xs[i], [y(i, j) for j in range(len(units[i]))], height))
    return _svg(width, height, [*edges, *labels, *nodes], title)


def _block_diagram(blocks: list[BlockSketch], title: str) -> Markup:
    """Each layer a box (the input first) with its caption inside and the shape of a sample
    after it below, joined left to right by arrows."""
    box_w, box_h, gap = 150.0, 44.0, 34.0
    width = len(blocks) * (box_w + gap) - gap + 40
    parts: list[Markup] = []
    for k, block in enumerate(blocks):
        x = 20 + k * (box_w + gap)
        parts.append(
            Markup(
                "<rect x='{:.1f}' y='20' width='{:.1f}' height='{:.1f}' rx='6' fill='#e6f0ff' "
                "stroke='#3b6fb6'/>"
            ).format(x, box_w, box_h)
        )
        parts.append(_text(x + box_w / 2, 46, block["caption"], extra="font-weight='600'"))
        parts.append(_text(x + box_w / 2, 84, block["shape"], extra="fill='#52606d'"))
        if k:
            parts.append(
                Markup(
                    "<line x1='{:.1f}' y1='42' x2='{:.1f}' y2='42' stroke='#9aa5b1' "
                    "marker-end='url(#arrow)'/>"
                ).format(x - gap, x - 4)
            )
    arrow = Markup(
        "<defs><marker id='arrow' viewBox='0 0 8 8' refX='8' refY='4' markerWidth='8' "
        "markerHeight='8' orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#9aa5b1'/></marker></defs>"
    )
    return _svg(width, 100, [arrow, *parts], title)


def _bias(bias: BiasSketch, x: float, ys: list[float], height: float) -> list[Markup]:
    dash = "" if bias["trainable"] else " stroke-dasharray='4 3'"
    state = "" if bias["trainable"] else " (frozen)"
    if not bias["shared"]:
        return [
            _text(x, yj + 30, f"{name} = {_num(v)}", extra="class='edge-label'")
            for name, v, yj in zip(bias["labels"], bias["values"], ys, strict=True)
        ]
    bx, by = x - 70, height - 28
    out = [
        Markup(
            "<line x1='{:.1f}' y1='{:.1f}' x2='{:.1f}' y2='{:.1f}' stroke='#c3a000'" + dash + "/>"
        ).format(bx + 9, by - 9, x, yj)
        for yj in ys
    ]
    out.append(
        Markup(
            "<rect x='{:.1f}' y='{:.1f}' width='18' height='18' fill='#fff8d6' stroke='#c3a000'/>"
        ).format(bx - 9, by - 9)
    )
    label = f"{bias['labels'][0]} = {_num(bias['values'][0])}{state}"
    out.append(_text(bx + 14, by + 4, label, anchor="start", extra="class='edge-label'"))
    return out


def log_ticks(lo: float, hi: float, max_ticks: int = 8) -> list[float]:
    """Tick values for a log axis (both ends > 0), first <= ``lo`` and last >= ``hi``: decades,
    thinned to at most ``max_ticks``; within about one decade, 1-2-5 steps instead."""
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if b - a <= 1:
        ticks = [m * 10.0**e for e in range(a, b + 1) for m in (1, 2, 5)]
        first = max(t for t in ticks if t <= lo * (1 + 1e-12))
        last = min(t for t in ticks if t >= hi * (1 - 1e-12))
        return [t for t in ticks if first <= t <= last]
    step = max(1, math.ceil((b - a + 1) / max_ticks))
    return [10.0**e for e in range(a, b + 1, step)]


def _thin(values: Sequence[float], keep: int) -> list[tuple[int, float]]:
    """At most ``keep`` evenly spaced (index, value) pairs, always keeping the last."""
    n = len(values)
    if n <= keep:
        return list(enumerate(values))
    idx = sorted({round(k * (n - 1) / (keep - 1)) for k in range(keep)})
    return [(i, values[i]) for i in idx]


def loss_plot(series: Sequence[Series], dx: float = 1.0, title: str = "loss") -> Markup:
    """Lines of positive values against step ``i * dx`` on a log10 y axis with decade ticks;
    values <= 0 or non-finite are left out (a log axis cannot show them)."""
    width, height, left, right, top, bottom = 540.0, 240.0, 62.0, 30.0, 14.0, 34.0
    # float(): report.json spells non-finite values "nan"/"inf", and the page is drawn from it
    lines = [[float(v) for v in s["values"]] for s in series]
    positive = [v for line in lines for v in line if math.isfinite(v) and v > 0]
    n = max((len(line) for line in lines), default=0)
    if not positive or n == 0:
        return _svg(width, 40, [_text(width / 2, 24, "no positive values to plot")], title)
    ticks = log_ticks(min(positive), max(positive))
    lo, hi = math.log10(min(min(positive), ticks[0])), math.log10(max(max(positive), ticks[-1]))
    hi = hi if hi > lo else lo + 1
    x_max = max(1.0, n * dx)  # the run length: each value is the loss before step i * dx

    def px(i: float) -> float:
        return left + (width - left - right) * (i * dx) / x_max

    def py(v: float) -> float:
        return top + (height - top - bottom) * (hi - math.log10(v)) / (hi - lo)

    body = [_axes(width, height, left, right, top, bottom)]
    for t in ticks:
        body.append(_hline(left, width - right, py(t)))
        body.append(_text(left - 6, py(t) + 4, f"{t:.0e}", anchor="end"))
    for t in (0.0, x_max / 2, x_max):
        body.append(_text(px(t / dx), height - bottom + 16, f"{t:.0f}"))
    body.append(_text((left + width) / 2, height - 4, "step"))
    for k, (s, line) in enumerate(zip(series, lines, strict=True)):
        pts = " ".join(
            f"{px(i):.1f},{py(v):.1f}" for i, v in _thin(line, 400) if math.isfinite(v) and v > 0
        )
        dash = " stroke-dasharray='6 4'" if s["dashed"] else ""
        body.append(
            Markup(
                "<polyline fill='none' stroke='{c}' stroke-width='2' points='{p}'" + dash + "/>"
            ).format(c=s["color"], p=pts)
        )
        body.append(_legend(width - right - 150, top + 12 + 16 * k, s["label"], s["color"], dash))
    return _svg(width, height, body, title)


def _axes(
    width: float, height: float, left: float, right: float, top: float, bottom: float
) -> Markup:
    return Markup(
        "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' fill='#fff' stroke='#9aa5b1'/>"
    ).format(left, top, width - left - right, height - top - bottom)


def _hline(x0: float, x1: float, yv: float) -> Markup:
    return Markup(
        "<line x1='{:.1f}' x2='{:.1f}' y1='{:.1f}' y2='{:.1f}' stroke='#e4e7eb'/>"
    ).format(x0, x1, yv, yv)


def _legend(x: float, yv: float, label: str, color: str, dash: str) -> Markup:
    line = Markup(
        "<line x1='{:.1f}' x2='{:.1f}' y1='{:.1f}' y2='{:.1f}' stroke='{}' stroke-width='2'"
        + dash
        + "/>"
    ).format(x, x + 22, yv - 4, yv - 4, color)
    return line + _text(x + 28, yv, label, anchor="start")


def error_histogram(
    errors: Mapping[str, Sequence[float]],
    tolerances: Mapping[str, float] | None = None,
    floor: float = 1e-18,
    title: str = "relative errors",
) -> Markup:
    """One histogram row per oracle of log10(relative error), half-decade bins from ``floor``
    to 1; errors below ``floor`` (exact agreement) fall in the first bin, above 1 (or inf) in
    the last, NaN is left out. A red line marks each oracle's tolerance."""
    lo, hi, per_decade = math.log10(floor), 0.0, 2
    n_bins = int((hi - lo) * per_decade)
    width, left, right, row_h, top = 560.0, 56.0, 16.0, 70.0, 8.0
    height = top + row_h * max(1, len(errors)) + 30
    bin_w = (width - left - right) / n_bins

    def px(log_value: float) -> float:
        return left + (width - left - right) * (log_value - lo) / (hi - lo)

    body: list[Markup] = []
    for k, (oracle, values) in enumerate(errors.items()):
        counts = [0] * n_bins
        for v in (float(x) for x in values):
            if math.isnan(v):
                continue
            lv = math.log10(v) if math.isfinite(v) and v > floor else (lo if v <= floor else hi)
            counts[min(n_bins - 1, max(0, int((lv - lo) * per_decade)))] += 1
        y0 = top + row_h * k
        body.append(_text(left, y0 + 10, oracle, anchor="start", extra="font-weight='600'"))
        body.append(_text(left - 8, y0 + row_h - 8, f"n={len(values)}", anchor="end"))
        body.append(_hline(left, width - right, y0 + row_h - 6))
        peak = max(counts) or 1
        for b, c in enumerate(counts):
            if c:
                h = (row_h - 22) * c / peak
                body.append(
                    Markup(
                        "<rect x='{:.1f}' y='{:.1f}' width='{:.1f}' height='{:.1f}' "
                        "fill='#3b6fb6'><title>{} in bin</title></rect>"
                    ).format(left + b * bin_w + 1, y0 + row_h - 6 - h, bin_w - 2, h, c)
                )
        tol = (tolerances or {}).get(oracle)
        if tol is not None and tol > 0:
            tx = px(max(lo, min(hi, math.log10(tol))))
            body.append(
                Markup(
                    "<line x1='{x:.1f}' x2='{x:.1f}' y1='{a:.1f}' y2='{b:.1f}' stroke='#c62828' "
                    "stroke-dasharray='3 2'><title>tolerance {t}</title></line>"
                ).format(x=tx, a=y0 + 4, b=y0 + row_h - 6, t=f"{tol:.1e}")
            )
    axis_y = top + row_h * max(1, len(errors)) + 8
    for e in range(int(lo), 1, 3):
        body.append(_text(px(e), axis_y, f"1e{e}"))
    body.append(_text(px(lo) + 4, axis_y + 14, "exact", anchor="start", extra="fill='#52606d'"))
    return _svg(width, height, body, title)
