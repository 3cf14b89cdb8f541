"""What a person would see wrong on the report page, measured in the browser: a page wider than
its window, a number broken across two lines, a box whose text runs out of it, a word said
twice in a row, a stray space before a comma."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

OpenPage = Callable[[Path, int], Any]  # the ``open_page`` fixture: (html file, width) -> page

# Measured in the page, after every <details> is opened (nothing is checked unseen). A line is
# a distinct top among a range's client rectangles (tops closer than 4 px are one line).
_MEASURE = r"""
() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const lines = (range) => {
    const tops = [...range.getClientRects()].filter((r) => r.width > 0).map((r) => r.top);
    tops.sort((a, b) => a - b);
    return tops.filter((t, k) => k === 0 || t - tops[k - 1] > 4).length;
  };
  const out = { width: document.documentElement.scrollWidth, window: innerWidth,
                cells: [], numbers: [], boxes: [], commas: [] };
  for (const cell of document.querySelectorAll("td.n")) {
    const range = document.createRange();
    range.selectNodeContents(cell);
    if (lines(range) > 1) out.cells.push(cell.innerText);
  }
  const number = /-?\d+\.\d+(?:e[-+]?\d+)?|\d+e[-+]?\d+/g;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest("svg, style, script")) continue;
    for (const m of node.data.matchAll(number)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      if (lines(range) > 1) out.numbers.push(m[0]);
    }
  }
  for (const pre of document.querySelectorAll("pre")) {
    const box = (pre.closest(".card") || document.body).getBoundingClientRect();
    if (pre.scrollWidth > pre.clientWidth || pre.getBoundingClientRect().right > box.right)
      out.boxes.push(pre.innerText.slice(0, 60));
  }
  for (const chip of document.querySelectorAll(".chip")) {
    const next = chip.nextSibling;
    if (next && next.nodeType === Node.TEXT_NODE && next.data.startsWith(","))
      out.commas.push(chip.innerText);
  }
  out.text = document.body.innerText;
  return out;
}
"""


def repeated_words(text: str) -> list[str]:
    """Each word said twice in a row (``typo: typo:``), within one line or table cell of the
    visible text; punctuation around a word is not part of it, case is ignored."""
    found = []
    for segment in re.split(r"[\t\n]", text):
        words = [w.strip(":;,.()[]\"'").lower() for w in segment.split()]
        found += [
            f"{a!r} twice in {segment.strip()[:80]!r}"
            for a, b in itertools.pairwise(words)
            if a == b and re.search(r"[a-z]", a)
        ]
    return found


def layout_problems(page: Any) -> list[str]:
    """Every layout defect of the loaded ``page`` (a Playwright page) at its viewport width, as
    lines; empty when there is none. Opens every ``<details>`` first."""
    m = page.evaluate(_MEASURE)
    problems = []
    if m["width"] > m["window"]:
        problems.append(f"the page is {m['width']} px wide in a {m['window']} px window")
    problems += [f"number cell on two lines: {c!r}" for c in m["cells"]]
    problems += [f"number broken across lines: {n!r}" for n in m["numbers"]]
    problems += [f"text runs out of its box: {b!r}" for b in m["boxes"]]
    problems += [f"comma after a chip: {c!r}" for c in m["commas"]]
    problems += [f"space before a comma: {s!r}" for s in re.findall(r"\S* ,\S*", m["text"])]
    problems += [f"repeated word: {r}" for r in repeated_words(m["text"])]
    return [f"at {m['window']} px: {p}" for p in problems]
