"""The report as data, as HTML text and as a person sees it in a headless browser."""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import shutil
import tomllib
from html import unescape
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pytest
from helpers import RunCli, assert_one_error_line, builtin_specs, make_spec, seed_spec
from page_checks import OpenPage, layout_problems
from sample_reports import sample_report

from gradcheck.report import data as report_data
from gradcheck.report import render as report
from gradcheck.report import svg
from gradcheck.spec import (
    Spec,
    builtin_networks_dir,
    load_spec,
    load_specs,
    parse_spec,
    spec_to_toml,
)

HOSTILE = "<script>alert('x')</script>"


def _hostile_spec() -> Spec:
    return make_spec(
        [{"size": 1, "weights": [[0.5]], "weight_names": [["<b>w</b>"]]}],
        [[1.0]],
        [[0.0]],
        name=HOSTILE,
        input={"size": 1, "names": ["<img src=x onerror=alert(1)>"]},
    )


# -- data -------------------------------------------------------------------------------------
def test_summary_counts_each_verdict_and_fails_only_on_code_not_documents() -> None:
    data = sample_report(
        golden_verdicts=("match", "match-truncated", "discrepancy", "discrepancy"),
        gradient_status="backprop-bug",
        generated=(True, False, True),
        training_status="disagree",
    )
    checks = {c["check"]: c for c in data["summary"]["checks"]}
    assert checks["golden values"] == {
        "check": "golden values",
        "section": "golden",
        "total": 4,
        "failed": 0,
        "counts": {"match": 1, "match-truncated": 1, "discrepancy": 2},
    }
    assert checks["gradient checks"]["counts"] == {"verified": 0, "failed": 1}
    assert checks["generated networks"]["counts"] == {"verified": 2, "failed": 1}
    assert checks["training, JAX vs NumPy"]["counts"] == {"agree": 0, "disagree": 1}
    assert (data["summary"]["ok"], data["summary"]["failures"]) == (False, 3)


def test_a_report_whose_generated_networks_were_all_unsupported_is_not_ok() -> None:
    # verify exits 1 when no generated network was checked; the report said "all verified"
    properties = {"networks": [{"ok": True, "unsupported": "conv2d"}] * 3}
    summary = report_data.summary_counts([], [], properties, [])
    assert summary["unchecked"] == ["generated networks"]
    assert (summary["ok"], summary["failures"]) == (False, 0)
    some = {"networks": [*properties["networks"], {"ok": True}]}
    assert report_data.summary_counts([], [], some, [])["ok"]
    given = [{"ok": True, "unsupported": "conv2d"}]
    assert report_data.summary_counts([], given, some, [])["ok"]  # generated ones checked
    assert report_data.summary_counts([], given, {"networks": []}, [])["unchecked"] == [
        "gradient checks"
    ]


def test_summary_is_ok_with_document_discrepancies_alone() -> None:
    summary = sample_report(golden_verdicts=("discrepancy", "match-truncated"))["summary"]
    assert (summary["ok"], summary["failures"]) == (True, 0)


def test_unknown_verdict_word_counts_as_failure_not_success() -> None:
    assert report_data.status_of("match-truncated") == "warn"
    assert report_data.status_of("MATCH") == "pass"
    assert report_data.status_of("something new") == "fail"
    assert report_data.status_of("non-differentiable here") == "warn"
    assert report_data.status_of("backprop-bug") == "fail"


def test_network_sketch_labels_weights_and_frozen_biases_as_the_document_does(
    sigmoid_seed: Spec,
) -> None:
    sketch = report_data.network_sketch(sigmoid_seed)
    assert sketch["units"] == [["i1", "i2"], ["h1", "h2"], ["o1", "o2"]]
    assert sketch["weight_labels"] == [[["w1", "w2"], ["w3", "w4"]], [["w5", "w6"], ["w7", "w8"]]]
    assert sketch["weights"][1] == [[0.40, 0.45], [0.50, 0.55]]
    assert sketch["biases"] == [
        {"labels": ["b1"], "values": [0.35], "shared": True, "trainable": False},
        {"labels": ["b2"], "values": [0.60], "shared": True, "trainable": False},
    ]


def test_network_sketch_falls_back_to_positional_labels() -> None:
    spec = make_spec(
        [{"size": 1, "weights": [[1.0, 2.0]], "bias": {"mode": "per_neuron"}}],
        [[1.0, 1.0]],
        [[0.0]],
        name="plain",
        loss="mse",
    )
    sketch = report_data.network_sketch(spec)
    assert sketch["units"] == [["x1", "x2"], ["n1.1"]]
    assert sketch["weight_labels"] == [[["layer 1 W[0,0]", "layer 1 W[0,1]"]]]
    assert sketch["biases"] == [
        {"labels": ["layer 1 b[0]"], "values": [0.0], "shared": False, "trainable": True}
    ]


def test_to_jsonable_turns_numpy_and_non_finite_values_into_strict_json() -> None:
    value = {"a": np.float32(0.5), "b": np.array([1.0, np.inf]), "c": (1, float("nan")), 3: None}
    out = report_data.to_jsonable(value)
    assert out == {"a": 0.5, "b": [1.0, "inf"], "c": [1, "nan"], "3": None}
    json.dumps(out, allow_nan=False)
    with pytest.raises(report_data.ReportError, match="cannot write object"):
        report_data.to_jsonable({"x": object()})


SEED_LAST = ["gradients", "properties", "golden", "training"]


def _summary(failing: tuple[str, ...]) -> report_data.Summary:
    """A banner tally with one check per section, failed where named."""
    checks = [
        report_data.CheckCount(
            check=section, section=section, total=1, failed=int(section in failing), counts={}
        )
        for section in report_data.SECTIONS
    ]
    return report_data.Summary(ok=not failing, failures=len(failing), checks=checks, unchecked=[])


@pytest.mark.parametrize(
    ("specs", "candidate", "failing", "order", "collapsed"),
    [
        ((), None, (), list(report_data.SECTIONS), []),
        ((), None, ("training",), list(report_data.SECTIONS), []),
        (("my_nets/a.toml",), None, (), SEED_LAST, ["golden", "training"]),
        ((), "mine.py:grads", ("gradients",), SEED_LAST, ["golden", "training"]),
        (("a.toml", "b.toml"), "mine.py:grads", ("training",), SEED_LAST, ["golden"]),
    ],
)
def test_the_users_work_comes_first_and_the_seed_documents_fold_unless_they_failed(
    specs: tuple[str, ...],
    candidate: str | None,
    failing: tuple[str, ...],
    order: list[str],
    collapsed: list[str],
) -> None:
    subject = report_data.report_subject(specs, candidate, _summary(failing))
    assert subject == {
        "specs": list(specs),
        "candidate": candidate,
        "user_work": bool(specs or candidate),
        "order": order,
        "collapsed": collapsed,
    }


# -- HTML -------------------------------------------------------------------------------------
def test_banner_says_all_verified_only_when_nothing_failed() -> None:
    good = report.render_html(sample_report())
    assert "All verified" in good and "failure" not in good.split("</section>")[0]
    bad = report.render_html(
        sample_report(
            golden_verdicts=("discrepancy", "match"),
            gradient_status="backprop-bug",
            generated=(True, False),
        )
    )
    assert re.search(r"<h1>\s*2 failures\s*</h1>", bad)
    assert "All verified" not in bad


def test_discrepancy_rows_are_marked_and_counted() -> None:
    page = report.render_html(
        sample_report(golden_verdicts=("match", "discrepancy", "discrepancy"))
    )
    html = page[page.index('<section id="golden">') : page.index('<section id="gradients">')]
    assert len(re.findall(r"<tr class=\"fail\"><td class=\"m\">out:o", html)) == 2
    assert "2 discrepancies in 3 values" in html
    assert html.count("<b>typo</b>: a digit") == 2 and "typo: typo" not in html


def _text(html: str) -> str:
    """The page's words without its tags (inline ones joined, as a browser shows them), spaces
    collapsed."""
    inline = re.sub(r"</?(span|code|b|i|a)\b[^>]*>", "", html)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())


def _intro(page: str) -> str:
    """The HTML of the intro line."""
    start = page.index('data-testid="report-intro"')
    return page[start : page.index("</p>", start)]


def _section(page: str, name: str) -> str:
    """The HTML of ``<section id=name>``."""
    start = page.index(f'<section id="{name}"')
    return page[start : page.index("</section>", start)]


def test_without_specs_or_candidate_the_seed_documents_come_first_and_open() -> None:
    page = report.render_html(sample_report(golden_verdicts=("match", "discrepancy")))
    starts = [page.index(f'<section id="{s}">') for s in report_data.SECTIONS]
    assert starts == sorted(starts)
    assert '<details class="collapsed"' not in page
    assert "About gradcheck itself: the seed documents' golden cases" in _text(page)


def test_the_users_spec_comes_first_and_the_golden_section_is_collapsed() -> None:
    data = sample_report(name="my-net", specs=("my_nets/my net.toml",))
    page = report.render_html(data)
    starts = [page.index(f'<section id="{s}">') for s in [*SEED_LAST, "environment"]]
    assert starts == sorted(starts)
    nav = page[page.index("<nav>") : page.index("</nav>")]
    assert re.findall(r'href="#(\w+)"', nav) == ["summary", *SEED_LAST, "environment"]
    first_card = re.search(r'<div class="card network" data-network="([^"]*)"', page)
    assert first_card is not None and first_card.group(1) == "my-net"
    assert first_card.start() < starts[2]  # before the golden section
    assert "Gradient checks: your networks" in _section(page, "gradients")
    assert "my_nets/my net.toml: float64" in _text(_section(page, "gradients"))
    for name in ("golden", "training"):  # folded: a <details> that is not open
        folded = f'<section id="{name}">\\s*<details class="collapsed" data-section="{name}">'
        assert re.match(folded + r"\s*<summary>", _section(page, name))
    intro = _text(_intro(page))
    assert (
        "About your networks: 1 spec file (my_nets/my net.toml), checked with gradcheck's" in intro
    )
    assert "come after (golden cases and training collapsed)" in intro


def test_a_candidates_failures_come_before_the_golden_section() -> None:
    data = sample_report(
        candidate="mine.py:grads",
        gradient_status="backprop-bug",
        generated=(True, False),
        golden_verdicts=("discrepancy",),
    )
    page = report.render_html(data)
    golden = page.index('<section id="golden">')
    first_failure = page.index('<tr class="fail">')
    assert first_failure < golden and first_failure > page.index('<section id="gradients">')
    assert page.index("<h3>Failing generated networks</h3>") < golden
    assert page.index("Shrunk by Hypothesis to") < golden
    banner = _section(page, "summary")  # the tally lists the candidate's checks first too
    checks = re.findall(r'<a href="#(\w+)"><b>', banner)
    assert checks == ["gradients", "properties", "golden", "training"]
    assert "About <code>mine.py:grads</code>: checked against JAX" in banner


def test_a_seed_section_holding_a_failure_is_not_collapsed() -> None:
    page = report.render_html(sample_report(candidate="mine.py:grads", training_status="disagree"))
    assert re.match(r'<section id="training">\s*<h2>Training</h2>', _section(page, "training"))
    assert '<details class="collapsed" data-section="golden">' in page


@pytest.mark.parametrize(
    ("finding", "cause", "shown"),
    [
        ("typo", "typo: a digit is dropped", "<b>typo</b>: a digit is dropped"),
        ("unexplained", "unexplained: computed 0.0413", "<b>unexplained</b>: computed 0.0413"),
        ("slip", "arithmetic slip: 2 * 0.1 = 0.3", "<b>arithmetic slip</b>: 2 * 0.1 = 0.3"),
        ("copied", "copied from param:w7 = 0.5", "<b>copied</b> from param:w7 = 0.5"),
        ("rule", "follows from update rule output-first", "<b>rule</b>: follows from update"),
        ("", "", '<td class="cause"></td>'),
    ],
)
def test_a_golden_cause_names_its_finding_once(finding: str, cause: str, shown: str) -> None:
    data = sample_report(golden_verdicts=("discrepancy",))
    data["golden"][0]["records"][0] |= {"finding": finding, "cause": cause}
    page = report.render_html(data)
    assert shown in page
    if finding:
        assert f"{finding}: {finding}" not in _text(page)


def test_a_relative_error_against_an_exact_zero_says_so_instead_of_inf() -> None:
    data = sample_report(gradient_status="backprop-bug", generated=(False,), zero_oracle=True)
    page = report.render_html(data)
    row = re.search(r'<td class="m">w7</td>(.*?)</tr>', page)
    assert row is not None
    assert '<td class="n">JAX = 0</td><td class="n">FD = 0</td>' in row.group(1)
    worst = _text(_section(page, "properties"))
    assert "1.00e-03 > 1.00e-12 allowed, hand 0.001 where JAX gives exactly 0." in worst
    assert "relative error inf" not in worst and not re.search(r">\s*-?inf\s*<", page)
    within = _text(_section(report.render_html(sample_report()), "properties"))
    assert "hand 0.0821670406 vs finite differences 0.08216704 (relative error 4.00e-08)" in within


def test_a_failing_entry_on_a_kink_shows_its_bracket_not_the_straddling_difference() -> None:
    data = sample_report(gradient_status="backprop-bug")
    entries = data["gradients"][0]["entries"]
    entries[0] = {**entries[0], "fd_lower": 0.25, "fd_upper": 0.5}  # on a kink, bracketed
    entries.append({**entries[0], "label": "w6", "fd_lower": None, "fd_upper": None})
    page = report.render_html(data)
    kinked = re.search(r'<td class="m">w5</td>(.*?)</tr>', page)
    smooth = re.search(r'<td class="m">w6</td>(.*?)</tr>', page)
    assert kinked is not None and smooth is not None
    assert '<td class="n">0.25 to 0.5 (a kink)</td>' in kinked.group(1)
    assert "(a kink)" not in smooth.group(1) and "0.0821670406" in smooth.group(1)


def test_numbers_in_running_text_stay_whole() -> None:
    text = report._unbroken("tolerance rtol=1e-09, h 6.06e-06; 2.5, v1e-5x and <b>")
    assert str(text) == (
        'tolerance rtol=<span class="nw">1e-09</span>, h <span class="nw">6.06e-06</span>; '
        "2.5, v1e-5x and &lt;b&gt;"
    )
    # both ends of a range, and a number ending a sentence (a verdict's floor range was split)
    assert str(report._unbroken("floor 4.7e-13..7.1e-13; 1.5e-3. v1.2.3e4")) == (
        'floor <span class="nw">4.7e-13</span>..<span class="nw">7.1e-13</span>; '
        '<span class="nw">1.5e-3</span>. v1.2.3e4'
    )
    page = report.render_html(sample_report())
    assert 'tolerance rtol=<span class="nw">1e-09</span> atol=<span class="nw">1e-12</span>' in page


def test_a_large_network_lists_its_flagged_entries_and_folds_the_rest() -> None:
    data = sample_report(gradient_status="backprop-bug")
    verdict = data["gradients"][0]
    ok = {**verdict["entries"][0], "status": "ok"}
    verdict["entries"] = [{**ok, "label": f"v{k}"} for k in range(40)]
    verdict["entries"][7] |= {"status": "backprop-bug"}
    card = _section(report.render_html(data), "gradients")
    shown, folded = card.split("<details>")
    assert re.findall(r'<td class="m">(v\d+)</td>', shown) == ["v7"]
    assert "All 40 entries" in folded and len(re.findall(r'<td class="m">v\d+</td>', folded)) == 40


def test_an_unsupported_network_is_counted_apart_never_verified() -> None:
    data = sample_report(candidate="mine.py:grads")
    reason = "candidate raised Unsupported: no shared bias at mine.py:3"
    data["gradients"][0] |= {"unsupported": reason, "entries": [], "loss": "nan"}
    data["properties"]["networks"][0] |= {"unsupported": reason}
    data["summary"] = report_data.summary_counts(
        data["golden"], data["gradients"], data["properties"], data["training"]
    )
    checks = {c["section"]: c for c in data["summary"]["checks"]}
    assert checks["gradients"]["counts"] == {"verified": 0, "failed": 0, "unsupported": 1}
    assert checks["properties"]["counts"] == {"verified": 4, "failed": 0, "unsupported": 1}
    assert data["summary"]["ok"] is True
    page = report.render_html(data)
    card = _section(page, "gradients")
    assert '<span class="chip warn">unsupported</span>' in card and "gradient-table" not in card
    assert f"not checked: {reason}" in _text(card)
    generated = _section(page, "properties")
    assert '<span class="chip warn">1 unsupported</span>' in generated
    assert "all verified" not in generated


def test_hostile_names_render_as_text_everywhere() -> None:
    spec = _hostile_spec()
    html = report.render_html(sample_report(name=HOSTILE, spec=spec))
    assert "<script" not in html.lower()
    assert "<img" not in html.lower() and "<b>w</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the unit name, inside the SVG


def test_page_loads_nothing_from_outside() -> None:
    html = report.render_html(sample_report())
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.IGNORECASE)
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)", html, re.IGNORECASE)
    assert "url(" not in html and "@import" not in html


def test_report_json_holds_the_same_content_as_the_page(tmp_path: Path) -> None:
    data = sample_report()
    html_path, json_path = report.write_report(data, tmp_path / "out")
    saved = json.loads(json_path.read_text())
    assert saved == report_data.to_jsonable(data)
    assert saved["summary"]["ok"] is True and saved["subject"]["user_work"] is False
    assert html_path.read_text() == report.render_html(saved)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "report.json"]


def test_a_crash_while_rendering_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    report.write_report(sample_report(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = sample_report()
    del broken["gradients"][0]["entries"][0]["hand"]
    with pytest.raises(jinja2.UndefinedError, match="hand"):
        report.write_report(broken, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_crash_while_renaming_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report.write_report(sample_report(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.write_report(sample_report(generated=(False,)), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failing_generated_networks_are_saved_beside_the_page_with_their_command(
    tmp_path: Path,
) -> None:
    data = sample_report(generated=(True, False, False))
    spec = seed_spec("linear-2-2-1")
    properties = dict(data["properties"])
    properties["seed"] = 4
    properties["reproduce_options"] = ["--examples", "0", "--candidate", "mine.py:grads"]
    rows = [dict(n) for n in properties["networks"]]
    for row in rows[1:]:
        row["replay"] = spec_to_toml(spec)
    properties["networks"] = rows
    data["properties"] = properties
    out = tmp_path / "out"
    (out / "failures").mkdir(parents=True)
    stale = out / "failures" / "generated-9-9-seed0-case3.toml"  # an earlier report's
    stale.write_text("old")
    mine = out / "failures" / "notes.txt"  # not a saved network: left alone
    mine.write_text("mine")
    html_path, json_path = report.write_report(data, out)
    saved = json.loads(json_path.read_text())["properties"]["networks"]
    assert "replay_path" not in saved[0]  # it verified
    for k in (1, 2):
        path = out / "failures" / f"generated-1-1-seed4-case{k}.toml"
        assert saved[k]["replay_path"] == str(path)
        assert saved[k]["reproduce"] == (
            f"gradcheck verify {path} --examples 0 --candidate mine.py:grads"
        )
        assert load_spec(path).initial_params()[1]["W"].tolist() == [[0.16, 0.2]]
        assert f"<code>{saved[k]['reproduce']}</code>" in html_path.read_text()
    assert not stale.exists() and mine.read_text() == "mine"
    assert "Failing generated networks" in html_path.read_text()


def test_a_report_where_every_network_verified_saves_none(tmp_path: Path) -> None:
    html_path, _ = report.write_report(sample_report(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "report.json"]
    assert "Failing generated networks" not in html_path.read_text()


def test_out_path_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    with pytest.raises(report_data.ReportError, match=r"taken: --out must be a folder") as err:
        report.write_report(sample_report(), target)
    assert "\n" not in str(err.value)


def test_out_path_the_os_refuses_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    too_long = tmp_path / ("a" * 300)  # longer than any file system allows one name to be
    with pytest.raises(
        report_data.ReportError, match=r"a{300}: cannot write the report \(File name"
    ):
        report.write_report(sample_report(), too_long)
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_while_writing_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(report_data.ReportError, match=r"cannot write the report \(No space left"):
        report.write_report(sample_report(), tmp_path)
    assert list(tmp_path.iterdir()) == []


# -- SVG --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (3.5e-5, 0.3, [1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]),
        (0.21, 0.29, [0.2, 0.5]),
        (1e-30, 1.0, [1e-30, 1e-26, 1e-22, 1e-18, 1e-14, 1e-10, 1e-6, 1e-2]),
    ],
)
def test_log_ticks_cover_the_range(lo: float, hi: float, expected: list[float]) -> None:
    assert svg.log_ticks(lo, hi) == pytest.approx(expected)


def test_loss_plot_puts_each_decade_the_same_height_apart() -> None:
    series = svg.Series(
        label="JAX", values=[1.0, 0.1, 0.01, 0.0, 0.001], color="#000", dashed=False
    )
    plot = str(svg.loss_plot([series]))
    points = re.search(r"points='([^']*)'", plot)
    assert points is not None
    ys = [float(p.split(",")[1]) for p in points.group(1).split()]
    assert len(ys) == 4  # the zero loss cannot be drawn on a log axis and is left out
    gaps = np.diff(ys)
    assert gaps == pytest.approx([gaps[0]] * 3) and gaps[0] > 0


def test_error_histogram_bins_exact_agreement_in_the_first_bin() -> None:
    plot = str(svg.error_histogram({"JAX": [0.0, 0.0, 1e-12]}, {"JAX": 1e-10}))
    heights = [float(h) for h in re.findall(r"<rect [^>]*height='([\d.]+)'", plot)]
    assert sorted(heights) == pytest.approx([24.0, 48.0])
    assert "tolerance 1.0e-10" in plot


# -- as a person sees it ----------------------------------------------------------------------
WIDTHS = (1280, 800)  # a laptop and half a screen: the page fits both


def test_report_command_writes_a_page_chromium_shows_with_nothing_loaded_from_outside(
    tmp_path: Path, run_cli: RunCli, browser: Any, open_page: OpenPage
) -> None:
    out = tmp_path / "reports"
    status, stdout, _ = run_cli(["report", "--out", str(out), "--examples", "6", "--seed", "3"])
    assert status == 0, stdout
    assert re.fullmatch(
        r"all verified: wrote .*index\.html \(\d+ KiB\) and .*report\.json in [\d.]+ s\n", stdout
    )
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == report_data.SCHEMA and data["summary"]["ok"] is True
    assert data["subject"]["user_work"] is False and data["subject"]["collapsed"] == []
    documented = [s for s in builtin_specs() if s.documented]  # the built-in networks' values
    documented += load_specs([builtin_networks_dir() / "documents"])  # and the public tutorials'
    assert [g["network"] for g in data["golden"]] == [s.name for s in documented]
    assert [len(g["records"]) for g in data["golden"]] == [len(s.documented) for s in documented]
    assert [v["name"] for v in data["gradients"]] == [s.name for s in builtin_specs()]
    assert len(data["properties"]["networks"]) == 6 and data["properties"]["seed"] == 3
    # a network with every group frozen is counted apart, as verify counts it (it was verified)
    assert all(isinstance(n["nothing_to_check"], bool) for n in data["properties"]["networks"])
    assert data["environment"]["command"] == f"gradcheck report --out {out} --examples 6 --seed 3"
    trained = {t["network"]: t for t in data["training"]}
    assert trained["sigmoid-2-2-2"]["jax"]["steps"] == 10000  # the document's 10000 updates
    assert {f["verdict_output_first"] for f in trained["sigmoid-2-2-2"]["finals"]} == {"match"}

    url = (out / "index.html").resolve().as_uri()
    viewport = {"width": 1280, "height": 800}
    requests: list[str] = []
    problems: list[str] = []
    page = browser.new_page(viewport=viewport)
    try:
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.goto(url, wait_until="load")
        banner = page.get_by_test_id("verdict-banner")
        box = banner.bounding_box()
        assert banner.is_visible() and box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
        assert banner.inner_text().startswith("All verified")
        assert page.get_by_test_id("report-intro").inner_text().startswith("About gradcheck itself")
        shot = tmp_path / "first-screen.png"
        page.screenshot(path=str(shot))
        if os.environ.get("GRADCHECK_SCREENSHOT"):
            Path(os.environ["GRADCHECK_SCREENSHOT"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, os.environ["GRADCHECK_SCREENSHOT"])
        tables = page.locator("table.golden-table")
        assert tables.count() == len(documented)
        for k, golden in enumerate(data["golden"]):
            table = tables.nth(k)
            table.scroll_into_view_if_needed()
            assert table.is_visible()  # open: without specs or candidate, the seed documents
            discrepancies = sum(r["verdict"] == "discrepancy" for r in golden["records"])
            assert table.locator("tr.fail").count() == discrepancies > 0
    finally:
        page.close()
    assert requests == [url]
    assert problems == []
    assert shot.stat().st_size > 10_000
    for width in WIDTHS:
        assert layout_problems(open_page(out / "index.html", width)) == []


BUGGY_CANDIDATE = """
from gradcheck.hand import hand_grads


def doubled_bias_grad(spec, params, inputs, targets):
    grads = hand_grads(spec, params, inputs, targets)
    return [{k: 2 * g if k == "b" else g for k, g in layer.items()} for layer in grads]
"""


def _biased_spec_toml(name: str) -> str:
    """A 2-3-1 tanh network with a trainable bias per neuron, as TOML text."""
    layers = [
        {"size": 3, "activation": "tanh", "weights": [[0.5, -0.2], [0.1, 0.4], [-0.3, 0.8]]},
        {"size": 1, "weights": [[0.7, -0.4, 0.2]]},
    ]
    for layer, bias in zip(layers, ([0.1, -0.2, 0.3], [0.05]), strict=True):
        layer["bias"] = {"mode": "per_neuron", "value": bias}
    return spec_to_toml(make_spec(layers, [[0.5, 1.0]], [[0.3]], name=name, loss="mse"))


def test_report_on_a_users_spec_and_buggy_candidate_puts_their_failures_first(
    tmp_path: Path, run_cli: RunCli, open_page: OpenPage
) -> None:
    candidate = tmp_path / "buggy.py"
    candidate.write_text(BUGGY_CANDIDATE)
    (tmp_path / "my_nets").mkdir()
    mine = tmp_path / "my_nets" / "biased.toml"
    mine.write_text(_biased_spec_toml("my-biased-net"))
    out = tmp_path / "reports"
    ref = f"{candidate}:doubled_bias_grad"
    args = ["report", str(mine.parent), "--out", str(out), "--examples", "8", "--candidate", ref]
    status, stdout, _ = run_cli(args)
    data = json.loads((out / "report.json").read_text())
    failed = [n for n in data["properties"]["networks"] if not n["ok"]]
    assert status == 1 and failed
    n = data["summary"]["failures"]
    assert stdout.startswith(f"{n} failure{'s' * (n != 1)} (") and "): wrote " in stdout
    # the user's network is the subject: checked with the candidate, which doubles its biases'
    # gradients; the seed documents come after, collapsed (their checks all passed)
    assert data["subject"] == {
        "specs": [str(mine)],
        "candidate": ref,
        "user_work": True,
        "order": ["gradients", "properties", "golden", "training"],
        "collapsed": ["golden", "training"],
    }
    (mine_checked,) = data["gradients"]
    assert (mine_checked["name"], mine_checked["path"], mine_checked["ok"]) == (
        "my-biased-net",
        str(mine),
        False,
    )
    biases = [e for e in mine_checked["entries"] if e["group"] == "b"]
    assert len(biases) == 4 and {e["status"] for e in biases} == {"backprop-bug"}
    assert {e["status"] for e in mine_checked["entries"] if e["group"] == "W"} == {"ok"}
    assert data["environment"]["command"] == (
        f"gradcheck report {mine.parent} --out {out} --examples 8 --seed 0 --candidate {ref}"
    )
    example = data["properties"]["counterexample"]
    assert "backprop-bug" in example["summary"]  # shrunk, or a sampled one that is smaller
    if example["shrunk"]:  # saved beside the failing draws, its command in the record
        assert example["replay_path"].endswith("-seed0-shrunk.toml")
        assert Path(example["replay_path"]).read_text() == example["replay"]
        assert example["reproduce"] == (
            f"gradcheck verify {example['replay_path']} --examples 0 --candidate {ref}"
        )
    replayed = parse_spec(tomllib.loads(example["replay"]))
    assert replayed.n_params <= min(n["n_params"] for n in failed)
    assert any("b" in layer for layer in replayed.initial_params())  # the bug needs a bias
    html = (out / "index.html").read_text()
    assert ("Shrunk by Hypothesis to" in html) == example["shrunk"] and ref in html
    # the worst case's replay command checks the candidate, not gradcheck's own backprop
    assert f"<code>gradcheck verify replay.toml --examples 0 --candidate {ref}</code>" in html
    # every failing generated network saved beside the page, its command in report.json and
    # on the page; the command checks that network again and fails the same way
    shrunk = [p for p in (out / "failures").iterdir() if p.name.endswith("-shrunk.toml")]
    assert bool(shrunk) == example["shrunk"]  # the smaller network found is saved there too
    saved = sorted(set((out / "failures").iterdir()) - set(shrunk))
    assert [Path(n["replay_path"]) for n in failed] == [
        out / "failures" / f"{n['name']}-seed0-case{n['index']}.toml" for n in failed
    ]
    assert sorted(Path(n["replay_path"]) for n in failed) == saved
    for n in failed:
        assert n["reproduce"] == (
            f"gradcheck verify {n['replay_path']} --examples 0 "
            f"--candidate {candidate}:doubled_bias_grad"
        )
        assert f"<code>{n['reproduce']}</code>" in html
    again = run_cli([*shlex.split(failed[0]["reproduce"])[1:], "--json"])
    (network,) = json.loads(again.out)["networks"]
    assert again.status == 1 and network["summary"] == failed[0]["summary"]

    # as a person sees it: the intro names the file, the user's failures come before the seed
    # documents, whose golden tables show only once their section is opened
    page = open_page(out / "index.html", 1280)
    assert str(mine) in page.get_by_test_id("report-intro").inner_text()
    sections = page.locator("main > section").evaluate_all("s => s.map(e => e.id)")
    assert sections == ["summary", "gradients", "properties", "golden", "training", "environment"]
    card = page.locator("#gradients .card").first
    assert card.locator("h3").inner_text().startswith("my-biased-net")
    assert card.locator("tr.fail").count() == len(biases)
    golden_top = _top(page.locator("#golden"))
    assert _top(card.locator("tr.fail").first) < golden_top
    assert _top(page.locator("table.failing-networks tr.fail").first) < golden_top
    assert page.locator("#golden details.collapsed").get_attribute("open") is None
    assert not page.locator("table.golden-table").first.is_visible()
    page.locator("#golden summary").click()
    assert page.locator("table.golden-table").first.is_visible()
    for width in WIDTHS:
        assert layout_problems(open_page(out / "index.html", width)) == []


def _top(locator: Any) -> float:
    """The page's y of the element's top edge."""
    box = locator.bounding_box()
    assert box is not None, "not rendered"
    return float(box["y"]) + float(locator.page.evaluate("scrollY"))


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "{path}: no such file"),
        ('name = "x"\nloss = "half_sse\n', "{path}: malformed TOML"),
        (
            _biased_spec_toml("x").replace("0.05", "nan"),
            "{path}: layers[1].bias.value[0]: must be a finite number",
        ),
    ],
)
def test_report_names_a_bad_spec_in_one_line_before_running_a_check(
    content: str | None, fragment: str, tmp_path: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "net.toml"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "reports"
    status, stdout, err = run_cli(["report", str(path), "--out", str(out)])
    assert (status, stdout) == (2, "")
    assert_one_error_line(err, fragment.format(path=path))
    assert not out.exists()  # nothing was written: the spec failed before the report began


def test_a_users_documented_network_is_judged_first_in_the_golden_cases(
    tmp_path: Path, run_cli: RunCli
) -> None:
    # a spec of the user's with [[documented]] values was verified, but its document's numbers
    # were not recomputed: the golden section held the seed documents only (a new-user trial)
    mine = tmp_path / "mine.toml"
    seed = seed_spec("sigmoid-2-2-2")
    mine.write_text(Path(seed.path).read_text().replace(f'name = "{seed.name}"', 'name = "mine"'))
    out = tmp_path / "out"
    status, _, _ = run_cli(["report", str(mine), "--examples", "0", "--out", str(out)])
    data = json.loads((out / "report.json").read_text())
    first = data["golden"][0]
    assert status == 0 and (first["network"], first.get("yours")) == ("mine", True)
    assert len(first["records"]) == len(seed.documented)
    assert [g["network"] for g in data["golden"][1:]].count("mine") == 0
    assert "golden" not in data["subject"]["collapsed"]  # about the user's work: open
    assert "your networks' documents and the seed" in unescape((out / "index.html").read_text())


def test_a_shrunk_counterexample_is_saved_beside_the_failing_draws(tmp_path: Path) -> None:
    # verify saved its shrunk network; the report showed the TOML on the page only
    data = sample_report(generated=(True, False))
    replay = Path(seed_spec("sigmoid-2-2-2").path).read_text()
    data["properties"]["counterexample"] = {
        "network": "2-2-2 sigmoid/sigmoid half_sse float64 batch 1",
        "summary": "sigmoid-2-2-2: FAILED 1 of 8 entries",
        "shrunk": True,
        "replay": replay,
    }
    stale = tmp_path / "out" / "failures" / "old-seed0-shrunk.toml"  # an earlier report's
    stale.parent.mkdir(parents=True)
    stale.write_text("stale")
    report.write_report(data, tmp_path / "out")
    written = json.loads((tmp_path / "out" / "report.json").read_text())["properties"]
    example = written["counterexample"]
    seed = written["seed"]
    path = tmp_path / "out" / "failures" / f"sigmoid-2-2-2-seed{seed}-shrunk.toml"
    assert example["replay_path"] == str(path) and path.read_text() == replay
    assert example["reproduce"].startswith(f"gradcheck verify {path} --examples 0")
    assert not stale.exists()
    html = (tmp_path / "out" / "index.html").read_text()
    assert f"<code>{example['reproduce']}</code>" in unescape(html)
