"""The report as data, as HTML text and as a person sees it in a headless browser."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradcheck import report, svg
from gradcheck.spec import Spec, builtin_networks_dir, load_spec, parse_spec

HOSTILE = "<script>alert('x')</script>"


def _spec(name: str) -> Spec:
    return load_spec(builtin_networks_dir() / f"{name.replace('-', '_')}.toml")


def _hostile_spec() -> Spec:
    return parse_spec(
        {
            "name": HOSTILE,
            "loss": "half_sse",
            "optimizer": {"learning_rate": 0.1},
            "input": {"size": 1, "names": ["<img src=x onerror=alert(1)>"]},
            "layers": [{"size": 1, "weights": [[0.5]], "weight_names": [["<b>w</b>"]]}],
            "samples": [{"input": [1.0], "target": [0.0]}],
        }
    )


def _golden(
    spec: Spec, rows: list[tuple[str, str, float, str, str | None]]
) -> report.GoldenNetwork:
    records = [
        {
            "network": spec.name,
            "quantity": q,
            "where": "Forward Pass",
            "documented": printed,
            "computed": computed,
            "verdict": verdict,
            "cause": cause,
        }
        for q, printed, computed, verdict, cause in rows
    ]
    return report.GoldenNetwork(
        network=spec.name,
        source=spec.model.source,
        sketch=report.network_sketch(spec),
        records=records,
    )


def _gradients(network: str, status: str = "ok") -> dict[str, Any]:
    """Shaped like compare.NetworkVerdict.to_dict() for the sigmoid seed network's w5."""
    entry = {
        "label": "w5",
        "layer": 1,
        "group": "W",
        "index": [0, 0],
        "kind": "entry",
        "hand": 0.082167041,
        "jax": 0.082167041,
        "fd": 0.08216704100003,
        "fd_error_estimate": 2e-12,
        "step": 6.06e-6,
        "abs_error_jax": 1.4e-17,
        "rel_error_jax": 1.7e-16,
        "abs_error_fd": 3e-14,
        "rel_error_fd": 3.6e-13,
        "tol_jax": 8.2e-11,
        "tol_fd": 8e-11,
        "status": status,
    }
    return {
        "name": network,
        "path": "networks/sigmoid_2_2_2.toml",
        "dtype": "float64",
        "mode": "entries",
        "n_params": 8,
        "loss": 0.298371109,
        "ok": status == "ok",
        "tolerance": {"rtol": 1e-9, "atol": 1e-12, "fd_safety": 4.0},
        "entries": [entry],
        "notes": [],
    }


def _training(network: str, status: str = "pass") -> dict[str, Any]:
    loss = [0.298371109 * math.exp(-k / 40.0) + 3.5e-5 for k in range(200)]
    return {
        "network": network,
        "status": status,
        "steps": 10000,
        "learning_rate": 0.5,
        "record_every": 50,
        "max_param_diff": 2.2e-16,
        "loss_jax": loss,
        "loss_numpy": loss,
        "finals": [
            {
                "quantity": "out o1",
                "documented": "0.015912196",
                "jax": 0.0159121960,
                "numpy": 0.0159121960,
                "verdict": "match",
            }
        ],
    }


def _properties(statuses: list[str]) -> dict[str, Any]:
    return {
        "count": len(statuses),
        "seed": 0,
        "failures": statuses.count("fail"),
        "statuses": statuses,
        "architectures": {
            "hidden layers": [["1", 3], ["2", 2]],
            "activation": [["tanh", 3], ["relu", 2]],
        },
        "errors": {"JAX": [1e-16, 0.0, 3e-15], "finite difference": [1e-9, 4e-8, 2e-10]},
        "tolerances": {"JAX": 1e-10, "finite difference": 1e-5},
        "worst": {
            "network": "generated-3",
            "error": 4e-8,
            "oracle": "finite difference",
            "parameter": "layer 2 W[1,0]",
            "replay": 'name = "generated-3"\n',
        },
        "counterexample": None,
    }


def _data(
    *,
    name: str = "sigmoid-2-2-2",
    golden_verdicts: tuple[str, ...] = ("match",),
    gradient_status: str = "ok",
    generated: tuple[str, ...] = ("pass",) * 5,
    spec: Spec | None = None,
) -> report.ReportData:
    spec = spec or _spec("sigmoid-2-2-2")
    rows = [
        (
            f"out o{k + 1}",
            "0.75136507",
            0.7513650695523157,
            v,
            "the document truncates" if v == "discrepancy" else None,
        )
        for k, v in enumerate(golden_verdicts)
    ]
    golden = [_golden(spec, rows)]
    gradients = [_gradients(name, gradient_status)]
    properties = _properties(list(generated))
    training = [_training(name)]
    return report.ReportData(
        schema=report.SCHEMA,
        summary=report.summarize(golden, gradients, properties, training),
        golden=golden,
        gradients=gradients,
        properties=properties,
        training=training,
        environment={
            "versions": {"python": "3.11.2", "numpy": "2.4.0"},
            "device": "cpu",
            "seeds": {"examples": 0},
            "generated_at": "2025-01-01T00:00:00Z",
            "elapsed_s": 12.5,
            "command": "gradcheck report --out reports --examples 50 --seed 0",
        },
    )


# -- data -------------------------------------------------------------------------------------
def test_summary_counts_each_check_and_totals_failures() -> None:
    data = _data(
        golden_verdicts=("match", "match-truncated", "discrepancy"),
        gradient_status="backprop-bug",
        generated=("pass", "fail", "pass"),
    )
    counts = {c["check"]: c for c in data["summary"]["checks"]}
    assert counts["golden values"] == {
        "check": "golden values",
        "total": 3,
        "passed": 1,
        "warned": 1,
        "failed": 1,
    }
    assert counts["gradient checks"]["failed"] == 1
    assert counts["generated networks"]["failed"] == 1
    assert counts["generated networks"]["passed"] == 2
    assert data["summary"] == {"ok": False, "failures": 3, "checks": data["summary"]["checks"]}


def test_unknown_verdict_word_counts_as_failure_not_success() -> None:
    assert report.status_of("match-truncated") == "warn"
    assert report.status_of("MATCH") == "pass"
    assert report.status_of("something new") == "fail"


def test_network_sketch_labels_weights_and_frozen_biases_as_the_document_does() -> None:
    sketch = report.network_sketch(_spec("sigmoid-2-2-2"))
    assert sketch["units"] == [["i1", "i2"], ["h1", "h2"], ["o1", "o2"]]
    assert sketch["weight_labels"] == [[["w1", "w2"], ["w3", "w4"]], [["w5", "w6"], ["w7", "w8"]]]
    assert sketch["weights"][1] == [[0.40, 0.45], [0.50, 0.55]]
    assert sketch["biases"] == [
        {"labels": ["b1"], "values": [0.35], "shared": True, "trainable": False},
        {"labels": ["b2"], "values": [0.60], "shared": True, "trainable": False},
    ]


def test_network_sketch_falls_back_to_positional_labels() -> None:
    spec = parse_spec(
        {
            "name": "plain",
            "loss": "mse",
            "optimizer": {"learning_rate": 0.1},
            "input": {"size": 2},
            "layers": [{"size": 1, "weights": [[1.0, 2.0]], "bias": {"mode": "per_neuron"}}],
            "samples": [{"input": [1.0, 1.0], "target": [0.0]}],
        }
    )
    sketch = report.network_sketch(spec)
    assert sketch["units"] == [["x1", "x2"], ["n1.1"]]
    assert sketch["weight_labels"] == [[["layer 1 W[0,0]", "layer 1 W[0,1]"]]]
    assert sketch["biases"] == [
        {"labels": ["layer 1 b[0]"], "values": [0.0], "shared": False, "trainable": True}
    ]


def test_to_jsonable_turns_numpy_and_non_finite_values_into_strict_json() -> None:
    value = {"a": np.float32(0.5), "b": np.array([1.0, np.inf]), "c": (1, float("nan")), 3: None}
    out = report.to_jsonable(value)
    assert out == {"a": 0.5, "b": [1.0, "inf"], "c": [1, "nan"], "3": None}
    json.dumps(out, allow_nan=False)
    with pytest.raises(report.ReportError, match="cannot write object"):
        report.to_jsonable({"x": object()})


# -- HTML -------------------------------------------------------------------------------------
def test_banner_says_all_verified_only_when_nothing_failed() -> None:
    good = report.render_html(_data())
    assert "All verified" in good and "failure" not in good.split("</section>")[0]
    bad = report.render_html(
        _data(golden_verdicts=("discrepancy", "match"), gradient_status="backprop-bug")
    )
    assert re.search(r"<h1>\s*2 failures\s*</h1>", bad)
    assert "All verified" not in bad


def test_discrepancy_rows_are_marked_and_counted() -> None:
    html = report.render_html(_data(golden_verdicts=("match", "discrepancy", "discrepancy")))
    assert len(re.findall(r"<tr class=\"fail\"><td class=\"m\">out o", html)) == 2
    assert "2 discrepancies in 3 values" in html
    assert "the document truncates" in html


def test_hostile_names_render_as_text_everywhere() -> None:
    spec = _hostile_spec()
    html = report.render_html(_data(name=HOSTILE, spec=spec))
    assert "<script" not in html.lower()
    assert "<img" not in html.lower() and "<b>w</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the unit name, inside the SVG


def test_page_loads_nothing_from_outside() -> None:
    html = report.render_html(_data())
    assert not re.search(r"<(script|link|img|iframe|object)\b", html, re.IGNORECASE)
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:|//)", html, re.IGNORECASE)
    assert "url(" not in html and "@import" not in html


def test_report_json_holds_the_same_content_as_the_page(tmp_path: Path) -> None:
    data = _data()
    html_path, json_path = report.write_report(data, tmp_path / "out")
    saved = json.loads(json_path.read_text())
    assert saved == report.to_jsonable(data)
    assert saved["summary"]["ok"] is True
    assert html_path.read_text() == report.render_html(saved)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "report.json"]


def test_a_crash_while_rendering_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    report.write_report(_data(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = _data()
    del broken["gradients"][0]["entries"][0]["hand"]
    with pytest.raises(Exception, match="hand"):
        report.write_report(broken, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_out_path_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    with pytest.raises(report.ReportError, match=r"taken: --out must be a folder") as err:
        report.write_report(_data(), target)
    assert "\n" not in str(err.value)


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
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium() -> str:
    """Debian's chromium (or GRADCHECK_CHROMIUM); missing fails under CI, skips only locally."""
    found = os.environ.get("GRADCHECK_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None
    )
    if found is None:
        message = "headless Chromium not found: install Debian's chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message + " or set GRADCHECK_CHROMIUM to a Chromium binary")
        pytest.skip(message)
    return found


def test_browser_shows_banner_and_golden_tables_with_nothing_loaded_from_outside(
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    data = _data(golden_verdicts=("match", "match-truncated", "discrepancy"))
    data["golden"].append(_golden(_spec("linear-2-2-1"), [("out", "0.214", 0.214, "match", None)]))
    html_path, _ = report.write_report(data, tmp_path / "reports")
    url = html_path.resolve().as_uri()
    viewport = {"width": 1280, "height": 800}
    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=viewport)
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
            assert "1 failure" in banner.inner_text()
            shot = tmp_path / "first-screen.png"
            page.screenshot(path=str(shot))
            if os.environ.get("GRADCHECK_SCREENSHOT"):
                Path(os.environ["GRADCHECK_SCREENSHOT"]).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(shot, os.environ["GRADCHECK_SCREENSHOT"])
            tables = page.locator("table.golden-table")
            assert tables.count() == 2
            for k in range(tables.count()):
                tables.nth(k).scroll_into_view_if_needed()
                assert tables.nth(k).is_visible()
            assert tables.nth(0).locator("tr.fail").count() == 1
        finally:
            browser.close()
    assert requests == [url]
    assert problems == []
    assert shot.stat().st_size > 10_000
