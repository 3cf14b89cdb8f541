"""The candidate contract: what a gradient function ``(spec, params, inputs, targets) -> grads``
receives and must return, built from the declarations so it cannot drift from them.

The losses (formula, reduction, gradient) come from :data:`gradcheck.layers.LOSSES`, the
activations (formula, derivative, kink convention, where they may go) from
:data:`gradcheck.layers.ACTIVATIONS`, the layer kinds (forward pass) from
:data:`gradcheck.layers.KINDS`, an entry's label from :meth:`Spec.label`; what is written here
besides is the :class:`Spec` attributes a candidate may read.
``tests/spec/test_contract.py`` holds :data:`SPEC_ATTRIBUTES` and :data:`SPEC_INTERNALS` to
``Spec``'s real attributes and the README's "Writing a candidate" section to
:func:`contract_text`. ``gradcheck contract`` prints it (``--json``: :func:`contract_data`).
"""

from __future__ import annotations

import textwrap
from typing import Any

from gradcheck.layers import ACTIVATIONS, KINDS, LOSSES, WEIGHT_DECAY
from gradcheck.spec.network import Spec, parse_spec

__all__ = [
    "ADAPTING_EXAMPLE",
    "SPEC_ATTRIBUTES",
    "SPEC_INTERNALS",
    "contract_data",
    "contract_text",
]

WIDTH = 100

SPEC_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("sizes", "(n_in, n_1, ..., n_L): the widths, the input first; layer l maps n_{l-1} to n_l"),
    ("shapes", "one sample's shape at the input and after each layer: (n,) or (C, H, W)"),
    ("kinds", "each layer's kind, e.g. 'dense', 'conv2d', 'max_pool2d', 'flatten'"),
    ("is_dense", "whether every layer is dense (a chain of (B, n) arrays)"),
    ("options", "each layer's forward settings as (key, value) pairs, e.g. conv2d's stride"),
    ("activations", "each layer's activation name"),
    ("slopes", "each layer's leaky_relu slope (0.0 where its activation takes none)"),
    ("bias_modes", "each layer's bias: 'none', 'shared' (0-d `b`) or 'per_neuron' ((n_out,) `b`)"),
    ("loss", "the loss name"),
    ("weight_decay", "lambda of the L2 term lambda/2 sum W^2 that E includes (0.0: none)"),
    ("decayed", "each layer's groups the weight decay applies to (dense: {'W'}, never a bias)"),
    ("dtype", "the NumPy dtype of every array (float64 or float32)"),
    ("learning_rate", "the SGD step (a gradient does not need it)"),
    ("frozen_params()", "the frozen groups, per layer, shaped like `params`"),
    ("initial_params()", "the trainable groups' initial values, structured as `params` is"),
    ("is_trainable(layer, group)", "whether `params[layer]` holds `group` ('W', 'gamma', ...)"),
    ("inputs()", "the spec's samples' inputs, (B, *shapes[0]): not always the `inputs` argument"),
    ("targets()", "the spec's samples' targets, (B, n_out): not always the `targets` argument"),
    ("param_names", "display name ('w5', 'b1') -> (layer index into `params`, group, index)"),
    ("unit_names", "neuron display name ('h1') -> (layer, index), the inputs being layer 0"),
    ("label(layer, group, index)", "how `verify` names a parameter entry"),
    ("n_params", "how many numbers the trainable groups hold"),
    ("name", "the network's name"),
    ("path", "the file it was loaded from"),
)
"""The :class:`Spec` attributes a candidate may read, with their arguments, and what they are."""

SPEC_INTERNALS: tuple[tuple[str, str], ...] = (
    ("model", "the validated TOML tables, gradcheck's own representation"),
    ("documented", "a document's printed numbers, for `gradcheck golden`"),
    ("shape_signature", "the key of gradcheck's compiled-program cache"),
    ("multiply_adds", "one sample's forward arithmetic, to size gradcheck's compiled programs"),
)
"""The other public :class:`Spec` attributes, and why a candidate has no use for them."""

ADAPTING_EXAMPLE = '''\
import numpy as np


def grads(spec, params, inputs, targets):
    """A course's per-sample backprop(x, y, weights, biases) -> (nabla_b, nabla_w): columns
    x (n_in, 1) and y (n_out, 1), a bias column (n_out, 1) per layer, cost 1/2 |a - y|^2."""
    layers = [{**f, **p} for p, f in zip(params, spec.frozen_params())]
    weights = [layer["W"] for layer in layers]  # already (n_out, n_in), a row per neuron
    biases = [np.resize(layer.get("b", 0.0), (len(layer["W"]), 1)) for layer in layers]
    out = [{k: np.zeros_like(a) for k, a in p.items()} for p in params]
    for x, y in zip(inputs, targets):  # one sample at a time, as columns
        nabla_b, nabla_w = backprop(x[:, None], y[:, None], weights, biases)
        for g, db, dw in zip(out, nabla_b, nabla_w):
            if "W" in g:
                g["W"] += dw
            if "b" in g:  # a shared bias gets the sum over its neurons
                g["b"] += db.sum() if g["b"].ndim == 0 else db[:, 0]
    scale = {"half_sse": 1.0, "sse": 2.0, "mse": 2.0 / targets.size}[spec.loss]  # the reduction
    for g, layer, decayed in zip(out, layers, spec.decayed):  # weight decay: + lambda W
        for k in g:
            g[k] = scale * g[k] + (spec.weight_decay * layer[k] if k in decayed else 0.0)
    return [{k: a.astype(spec.dtype) for k, a in g.items()} for g in out]
'''
"""A course-style per-sample backprop wrapped as a candidate (``backprop`` is the course's)."""


def _example_label() -> str:
    """What ``verify`` calls ``params[1]['W'][1, 0]`` in a network without display names."""
    zeros = [[0.0, 0.0], [0.0, 0.0]]
    spec: Spec = parse_spec(
        {
            "name": "contract",
            "loss": "half_sse",
            "optimizer": {"learning_rate": 0.1},
            "input": {"size": 2},
            "layers": [{"size": 2, "weights": zeros}, {"size": 2, "weights": zeros}],
            "samples": [{"input": [0.0, 0.0], "target": [0.0, 0.0]}],
        }
    )
    return spec.label(1, "W", (1, 0))


def contract_data() -> dict[str, Any]:
    """The contract as JSON-able data (what ``gradcheck contract --json`` prints)."""
    return {
        "signature": "grads = candidate(spec, params, inputs, targets)",
        "arguments": {
            "inputs": "(B, *spec.shapes[0]) float array in spec.dtype, one row per sample: "
            "(B, n_in) for a dense input, (B, C, H, W) for an image, (B, T, n_in) for a "
            "sequence",
            "targets": "(B, n_out) float array in spec.dtype",
            "params": "list with one dict per layer (params[i] is layer i + 1) of its trainable "
            "groups only: W (n_out, n_in), one row per output neuron; b 0-d (shared) or "
            "(n_out,) (per neuron)",
            "frozen": "spec.frozen_params(): the frozen groups in the same structure",
        },
        "returns": "dE/dparams: one dict per layer, the keys and shapes of params, spec.dtype",
        "forward": {name: kind.forward for name, kind in KINDS.items()},
        "losses": [
            {
                "name": loss.name,
                "formula": loss.formula,
                "reduction": loss.reduction,
                "gradient": loss.gradient,
                "output_activation": loss.output_activation,
                "one_hot": loss.one_hot,
                "target_range": loss.target_range(),
                "kinked": loss.kinked,
            }
            for loss in LOSSES.values()
        ],
        "weight_decay": WEIGHT_DECAY,
        "activations": [
            {
                "name": a.name,
                "formula": a.formula,
                "derivative": a.derivative,
                "kinked": a.kinked,
                "takes_slope": a.takes_slope,
                "output_only": a.output_only,
            }
            for a in ACTIVATIONS.values()
        ],
        "spec_attributes": [{"name": n, "meaning": m} for n, m in SPEC_ATTRIBUTES],
        "indices": {
            "params": "params[i] is layer i + 1; the input is layer 0",
            "entry_label": _example_label(),
            "golden_sample": "#S in a golden quantity is the 0-based batch row: inputs[S]",
            "train_sample": "gradcheck train prints 'sample 1' for inputs[0] (1-based); its "
            "--json outputs list the rows 0-based",
        },
        "adapting_example": ADAPTING_EXAMPLE,
        "minimal_candidate": "examples/minimal_candidate.py:grads",
    }


_KEEP = "\x00"  # stands for a space inside a `code span` while wrapping, so none is split


def _wrap(text: str, first: str = "", rest: str = "") -> str:
    """``text`` filled to :data:`WIDTH` columns, never breaking inside a `code span`."""
    spans = text.split("`")
    kept = "`".join(p.replace(" ", _KEEP) if i % 2 else _bind(p) for i, p in enumerate(spans))
    filled = textwrap.fill(
        kept,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return filled.replace(_KEEP, " ")


def _bind(text: str) -> str:
    """An operator stays on its left operand's line: in Markdown a line that starts with ``* ``,
    ``- `` or ``+ `` would start a list."""
    for operator in ("*", "-", "+"):
        text = text.replace(f" {operator} ", f"{_KEEP}{operator} ")
    return text


def _paragraph(text: str) -> str:
    return _wrap(text)


def _bullet(text: str) -> str:
    return _wrap(text, "- ", "  ")


def contract_text() -> str:
    """The contract for people (what ``gradcheck contract`` prints, and the README's "Writing a
    candidate" section): Markdown that reads as plain text."""
    data = contract_data()
    kinked = ", ".join(f"`{a['name']}`" for a in data["activations"] if a["kinked"])
    hinges = ", ".join(f"`{x['name']}`" for x in data["losses"] if x["kinked"])
    blocks = [
        _paragraph(
            "`gradcheck contract` prints this text (`--json`: the same as data). A candidate is "
            "a function `grads = candidate(spec, params, inputs, targets)` that computes the "
            "loss's gradient by hand; `gradcheck verify --candidate module:function` (or "
            "`path/to/file.py:function`) checks it against JAX and finite differences."
        ),
        _paragraph(
            "**Arguments.** Every array is a NumPy float array in the network's dtype "
            "(`spec.dtype`, float64 or float32); B is the batch size, L the number of layers."
        ),
        "\n".join(
            [
                _bullet(
                    "`inputs`: shape (B, *`spec.shapes[0]`), one per sample: (B, n_in) for "
                    "a dense input (n_in = `spec.sizes[0]`), (B, C, H, W) for an image, "
                    "(B, T, n_in) for a sequence; `targets`: shape (B, n_out), n_out = "
                    "`spec.sizes[-1]`."
                ),
                _bullet(
                    "`params`: a list of L dicts, `params[i]` for layer i + 1 (the input is "
                    "layer 0), each holding that layer's TRAINABLE groups only: `W` of shape "
                    "(n_out, n_in), one row per output neuron (`W[j, k]` weighs input k into "
                    "neuron j), and `b`, a 0-d array for a shared bias (one number for the "
                    "layer) or shape (n_out,) for a bias per neuron. A layer with nothing "
                    "trainable is `{}`. A residual block is one layer whose dict holds its inner "
                    "layers' groups as `'j.G'` (`params[i]['1.W']`: `W` of the block's "
                    "`layers[1]`, 0-based; nested blocks `'0.1.W'`); `verify` names such an "
                    "entry `layer 3 1.W[2,0]`."
                ),
                _bullet(
                    "Frozen groups (`trainable = false` in the spec) are not in `params`; "
                    "`spec.frozen_params()` holds them in the same structure. The forward pass "
                    "needs both: `layers = [{**f, **p} for p, f in zip(params, "
                    "spec.frozen_params())]`."
                ),
            ]
        ),
        _paragraph(
            "**Return** dE/dparams: a list of L dicts with the keys and shapes of `params` "
            "(nothing for a frozen group), in the same dtype. A missing or extra group or a "
            "wrong shape fails the network; a narrower dtype (float32 for a float64 network) is "
            "`dtype-mismatch`; an exception fails the network with the `file:line` in your "
            "code where it was raised."
        ),
        _paragraph(
            "**Forward pass**, one row per sample, from out_0 = `inputs` through layers "
            "l = 1..L (`spec.kinds[l-1]`):"
        ),
        "\n".join(_bullet(f"{name}: {kind.forward}.") for name, kind in KINDS.items()),
        _paragraph(
            "**Groups and options by kind**: the keys of `params[i]` (and of "
            "`spec.frozen_params()[i]`) with their shapes, and the keys of "
            "`dict(spec.options[i])`, which hold a layer's settings as the forward pass reads "
            "them (a pooling `kernel` of 2 in the spec is `(2, 2)` there):"
        ),
        "\n".join(_bullet(f"{name}: {kind.parameters}.") for name, kind in KINDS.items()),
        _paragraph(
            "**Losses** (`spec.loss`), of o = out_L and t = `targets`; E is one number for the "
            "whole batch:"
        ),
        "\n".join(
            _bullet(
                f"`{loss['name']}`"
                + (
                    f" (output activation `{loss['output_activation']}` only)"
                    if loss["output_activation"]
                    else ""
                )
                + (", one-hot targets only" if loss["one_hot"] else "")
                + (f", targets {loss['target_range']}" if loss["target_range"] else "")
                + f": {loss['formula']}. Reduction: {loss['reduction']}. "
                f"Gradient: {loss['gradient']}."
            )
            for loss in data["losses"]
        ),
        _paragraph(
            f"**Weight decay** (`spec.weight_decay`, per layer `spec.decayed`): {WEIGHT_DECAY}. "
            "It adds to whichever loss the spec has; a bias never gets it."
        ),
        _paragraph(
            "**Activations** (`spec.activations`; slope = `spec.slopes[l-1]`): out = act(z), "
            "then act'(z):"
        ),
        "\n".join(
            _bullet(
                f"`{a['name']}`"
                + (" (output layer only)" if a["output_only"] else "")
                + f": out = {a['formula']}. act'(z) = {a['derivative']}."
                + (" Kinked at z = 0." if a["kinked"] else "")
            )
            for a in data["activations"]
        ),
        _paragraph(
            f"At a kink ({kinked}, z = 0) any value between the one-sided derivatives is right "
            "(relu'(0) = 0, 1/2 or 1). A pre-activation within its rounding bound of 0 counts "
            "as on the kink, and `verify` reports an entry there as `non-differentiable here`, "
            "not as a failure, when the candidate's value lies between the loss's one-sided "
            "derivatives (JAX's own value gets no pass outside them); a stencil that crosses a "
            "kink from a point off it still needs the candidate's value to equal JAX's. "
            f"The same holds for a kinked loss ({hinges}) at a margin s_j - s_y + 1 within its "
            "rounding bound of 0 (max(0, m)' = 0 or 1 there), and for a `max_pool2d` window "
            "whose largest inputs lie within their rounding bound of each other (two, three "
            "or more): its gradient may go to any of them, or be split among them."
        ),
        _paragraph(
            "**What a candidate may read on `spec`** (a `gradcheck.Spec`; its other attributes, "
            + ", ".join(f"`{name}`" for name, _ in SPEC_INTERNALS)
            + ", are gradcheck's own):"
        ),
        "\n".join(_bullet(f"`spec.{name}`: {meaning}.") for name, meaning in SPEC_ATTRIBUTES),
        _paragraph(
            "**Indices.** `params[i]` is layer i + 1. `verify` names an entry by its display "
            f"name (`w5`) or as `{data['indices']['entry_label']}`: the layer counted from 1, "
            "the array index from 0 (`params[1]['W'][1, 0]`). Samples: `#S` in a golden "
            "quantity (`out:o1#1`) is the 0-based batch row, `inputs[S]`; `gradcheck train` "
            "prints `sample 1`, `sample 2`, ... counting from 1 for people (`sample 1` is "
            "`inputs[0]`), and its `--json` `outputs` lists the rows from 0."
        ),
        _paragraph(
            "**Adapting a course-style function.** A course's backprop usually takes one sample "
            "as columns and weight matrices with one row per neuron, the layout above: wrap it, "
            "add the samples up and scale by the loss's reduction. For a per-sample "
            "`backprop(x, y, weights, biases)` for the cost 1/2 |a - y|^2:"
        ),
        f"```python\n{ADAPTING_EXAMPLE.rstrip()}\n```",
        _paragraph(
            "It handles the activations the course's code was written for: check it on your own "
            "specs with `--examples 0`, or on generated networks from a family that declares "
            "them (`--family`); for a network it does not handle, a candidate may raise "
            "`gradcheck.Unsupported`, reported unsupported and never failed. Course code with W "
            "as (n_in, n_out) returns `nabla_w.T`."
        ),
        _paragraph(
            "A complete candidate for the dense networks and residual blocks gradcheck "
            "generates, backprop by hand in a page of NumPy, is "
            f"`{data['minimal_candidate'].partition(':')[0]}` (other kinds raise "
            "`NotImplementedError`, reported unsupported; `--kinds` says what it handles):"
        ),
        f"    gradcheck verify --kinds dense,residual --candidate {data['minimal_candidate']}",
    ]
    return "\n\n".join(blocks) + "\n"
