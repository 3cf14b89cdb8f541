"""How one training step applies the gradients, declared once with one name each.

``gradient-descent`` is true gradient descent: every gradient at the old weights.
``output-first`` updates the output layer first and sends each delta down through the already
updated weights above it (the update order of seed document 001's program). Training implements
both (:mod:`gradcheck.training`); the golden cases try them, and more hypotheses of their own,
on a document's numbers (:mod:`gradcheck.golden.update_rules`).
"""

from __future__ import annotations

__all__ = ["GRADIENT_DESCENT", "OUTPUT_FIRST", "UPDATE_RULES"]

GRADIENT_DESCENT = "gradient-descent"
OUTPUT_FIRST = "output-first"

UPDATE_RULES: dict[str, str] = {
    GRADIENT_DESCENT: "every gradient at the old weights",
    OUTPUT_FIRST: "output weights updated first, hidden deltas through the updated output weights",
}
