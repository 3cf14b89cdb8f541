"""The report page as a person sees it in headless Chromium, at a laptop's width and half a
screen's: nothing wider than the window, no number broken across lines, no text out of its box,
no word said twice, no stray space before a comma. The pages are rendered from sample records
(no check runs); the command's own page is measured the same way in ``test_report.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from page_checks import OpenPage, layout_problems, repeated_words
from sample_reports import LONG_WEIGHTS, sample_report

from gradcheck.report import data as report_data
from gradcheck.report import render as report

WIDTHS = (1280, 800)


def _failing_report() -> report_data.ReportData:
    """The user's failing network (a long path), a candidate, failing generated networks with
    their replays, an entry against an exact 0 and document discrepancies."""
    deep = "/".join(["a-rather-long-folder-name"] * 6)
    data = sample_report(
        name="my-net",
        specs=(f"{deep}/my_network_with_a_long_name.toml",),
        candidate=f"{deep}/candidate.py:grads",
        gradient_status="backprop-bug",
        generated=(True, False, False),
        golden_verdicts=("match", "discrepancy", "match-truncated"),
        zero_oracle=True,
    )
    properties = dict(data["properties"])
    properties["networks"] = [
        n if n["ok"] else {**n, "replay": f'name = "generated-1-1"\n\n[[layers]]\n{LONG_WEIGHTS}\n'}
        for n in properties["networks"]
    ]
    data["properties"] = properties
    return data


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "make", [sample_report, _failing_report], ids=["seed documents", "your failing networks"]
)
def test_the_page_fits_its_window_and_keeps_every_number_on_one_line(
    make: Any, width: int, tmp_path: Path, open_page: OpenPage
) -> None:
    html_path, _ = report.write_report(make(), tmp_path / "reports")
    page = open_page(html_path, width)
    assert layout_problems(page) == []
    cells = page.locator("td.n").count()
    assert cells > 20  # the measure saw the tables' numbers (every <details> opened)


BROKEN = """<!DOCTYPE html><html><head><style>
body { margin: 0; font: 14px/1.45 sans-serif; } .card { width: 300px; }
pre { white-space: pre; overflow-x: auto; } .chip { padding: 0 8px; }
</style></head><body>
<table><tr><td class="n" style="width: 40px">6.06e-06 > 1.00e-12</td></tr></table>
<p style="width: 60px">tolerance rtol=1e-09 atol=1e-12</p>
<div class="card"><pre>WIDE</pre></div>
<p>cause: typo: typo: a digit</p>
<p>gradient checks: 0 verified , 2 failed</p>
<p><span class="chip">72 match</span>, <span class="chip">8 match-truncated</span></p>
<div style="width: 2000px">wide</div>
</body></html>"""


def test_the_layout_measure_finds_each_defect(tmp_path: Path, open_page: OpenPage) -> None:
    path = tmp_path / "broken.html"
    path.write_text(BROKEN.replace("WIDE", LONG_WEIGHTS))
    problems = layout_problems(open_page(path, 800))
    expected = [
        "at 800 px: the page is 2000 px wide in a 800 px window",
        "at 800 px: number cell on two lines: '6.06e-06 > 1.00e-12'",
        "at 800 px: number broken across lines: '6.06e-06'",
        "at 800 px: number broken across lines: '1.00e-12'",
        "at 800 px: number broken across lines: '1e-09'",
        "at 800 px: number broken across lines: '1e-12'",
        f"at 800 px: text runs out of its box: {LONG_WEIGHTS[:60]!r}",
        "at 800 px: comma after a chip: '72 match'",
        "at 800 px: space before a comma: 'verified ,'",
        "at 800 px: repeated word: 'typo' twice in 'cause: typo: typo: a digit'",
    ]
    assert problems == expected


def test_repeated_words_are_found_within_a_line_not_across_table_cells() -> None:
    text = "typo: typo: a digit\nunexplained\tunexplained\nverified 0.5 0.5 Verified verified"
    assert repeated_words(text) == [
        "'typo' twice in 'typo: typo: a digit'",
        "'verified' twice in 'verified 0.5 0.5 Verified verified'",
    ]
