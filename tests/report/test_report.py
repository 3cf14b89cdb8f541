"""The report as data, as HTML text and as a person sees it in a headless browser."""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shlex
import shutil
import tomllib
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pytest
from helpers import RunCli, builtin_specs, make_spec, seed_spec

from gradcheck.report import data as report_data
from gradcheck.report import render as report
from gradcheck.report import svg
from gradcheck.spec import Spec, load_spec, parse_spec, spec_to_toml

HOSTILE = "<script>alert('x')</script>"


def _hostile_spec() -> Spec:
    return make_spec(
        [{"size": 1, "weights": [[0.5]], "weight_names": [["<b>w</b>"]]}],
        [[1.0]],
        [[0.0]],
        name=HOSTILE,
        input={"size": 1, "names": ["<img src=x onerror=alert(1)>"]},
    )


def _golden(spec: Spec, rows: list[tuple[str, str, float, str, str]]) -> report_data.GoldenNetwork:
    """Records shaped like golden.GoldenRecord.to_dict()."""
    records = [
        {
            "network": spec.name,
            "quantity": quantity,
            "where": f"line {40 + k}: {quantity}",
            "documented": printed,
            "computed": computed,
            "verdict": verdict,
            "cause": cause,
            "digits": len(printed.split(".")[-1]),
            "finding": cause.split(":")[0] if cause else "",
            "rule": "",
            "alternative": None,
            "alternatives": {},
            "note": "",
        }
        for k, (quantity, printed, computed, verdict, cause) in enumerate(rows)
    ]
    return report_data.GoldenNetwork(
        network=spec.name,
        source=spec.model.source,
        sketch=report_data.network_sketch(spec),
        records=records,
    )


def _gradients(network: str, status: str = "ok") -> dict[str, Any]:
    """Shaped like compare.NetworkVerdict.to_dict(), for the sigmoid seed network's w5."""
    entry = {
        "label": "w5",
        "layer": 1,
        "group": "W",
        "index": [0, 0],
        "kind": "entry",
        "hand": 0.0821670406,
        "jax": 0.0821670406,
        "fd": 0.0821670406,
        "fd_error_estimate": 2e-12,
        "step": 6.06e-6,
        "abs_error_jax": 0.0,
        "rel_error_jax": 0.0,
        "abs_error_fd": 6.0e-13,
        "rel_error_fd": 7.26e-12,
        "tol_jax": 8.32e-11,
        "tol_fd": 1.27e-9,
        "status": status,
        "location": "layer 2 W[0,0]",
    }
    return {
        "name": network,
        "path": "networks/sigmoid_2_2_2.toml",
        "ok": status == "ok",
        "dtype": "float64",
        "mode": "entries",
        "n_params": 8,
        "loss": 0.2983711088,
        "tolerance": {"rtol": 1e-9, "atol": 1e-12, "fd_safety": 4.0},
        "counts": {"ok": 1},
        "summary": f"{network}: verified",
        "notes": [],
        "entries": [entry, {**entry, "label": "w6", "abs_error_jax": "nan", "status": status}],
    }


def _train_result(network: str, backend: str) -> dict[str, Any]:
    """Shaped like train.TrainResult.to_dict() for 10000 steps recorded every 10."""
    loss = [0.298371109 * math.exp(-k / 40.0) + 3.5e-5 for k in range(1000)]
    return {
        "network": network,
        "backend": backend,
        "device": "cpu:0",
        "n_devices": 1,
        "dtype": "float64",
        "optimizer": "sgd",
        "rule": "gradient-descent",
        "learning_rate": 0.5,
        "steps": 10000,
        "loss": 3.510187783e-05,
        "outputs": [[0.01591362044, 0.9840642735]],
        "params": {"w1": 0.2, "w5": -3.1},
        "loss_history": loss,
        "loss_history_every": 10,
        "seconds": 0.002,
        "compile_seconds": 0.4,
        "steps_per_second": 5e6,
    }


def _training(network: str, status: str = "agree") -> dict[str, Any]:
    return {
        "network": network,
        "status": status,
        "max_abs_diff": 4.4e-16,
        "tolerance": {"rtol": 1e-9, "atol": 1e-12, "fd_safety": 4.0},
        "jax": _train_result(network, "jax"),
        "numpy": _train_result(network, "numpy"),
        "finals": [
            {
                "quantity": "out:o1@10000",
                "where": "line 610: o1 after 10000 updates",
                "documented": "0.015912196",
                "jax": 0.01591362044,
                "numpy": 0.01591362044,
                "output_first": 0.01591219633,
                "verdict": "discrepancy",
                "verdict_output_first": "match",
            }
        ],
    }


def _properties(verified: list[bool]) -> dict[str, Any]:
    replay = 'name = "generated-1-1"\nloss = "half_sse"\n'
    return {
        "count": len(verified),
        "seed": 0,
        "architectures": {"layers": [["1", 3], ["2", 2]], "loss": [["mse", 5]]},
        "errors": {"JAX float64": [1e-16, 0.0, "inf"], "FD float64": [1e-9, 4e-8, 2e-10]},
        "tolerances": {"JAX float64": 1e-9},
        "networks": [
            {
                "index": k,
                "name": "generated-1-1",
                "description": "1-1 identity half_sse float64 batch 1",
                "dtype": "float64",
                "n_params": 2,
                "ok": ok,
                "summary": "generated-1-1: verified",
                "rel_error_jax": 1e-16,
                "rel_error_fd": 1e-9,
            }
            for k, ok in enumerate(verified)
        ],
        "worst": {
            "index": 0,
            "network": "1-1 identity half_sse float64 batch 1",
            "oracle": "finite differences",
            "parameter": "layer 1 W[0,0]",
            "error": 4e-8,
            "abs_error": 1e-10,
            "allowed": 1e-9,
            "replay": replay,
        },
        "counterexample": None
        if all(verified)
        else {
            "network": "1-1 identity half_sse float64 batch 1",
            "summary": "generated-1-1: FAILED 1 of 2 entries",
            "shrunk": True,
            "replay": replay,
        },
    }


def _data(
    *,
    name: str = "sigmoid-2-2-2",
    golden_verdicts: tuple[str, ...] = ("match",),
    gradient_status: str = "ok",
    generated: tuple[bool, ...] = (True,) * 5,
    training_status: str = "agree",
    spec: Spec | None = None,
) -> report_data.ReportData:
    spec = spec or seed_spec("sigmoid-2-2-2")
    rows = [
        (
            f"out:o{k + 1}",
            "0.75136507",
            0.7513650695523157,
            v,
            "typo: a digit" if v == "discrepancy" else "",
        )
        for k, v in enumerate(golden_verdicts)
    ]
    golden = [_golden(spec, rows)]
    gradients = [_gradients(name, gradient_status)]
    properties = _properties(list(generated))
    training = [_training(name, training_status)]
    return report_data.ReportData(
        schema=report_data.SCHEMA,
        summary=report_data.summary_counts(golden, gradients, properties, training),
        golden=golden,
        gradients=gradients,
        properties=properties,
        training=training,
        environment={
            "versions": {"python": "3.11.7", "numpy": "2.4.6", "jax": "0.10.2"},
            "platform": "Linux-x86_64",
            "device": "cpu: cpu (x1)",
            "seeds": {"generated networks": 0},
            "command": "gradcheck report --out reports --examples 100 --seed 0",
            "generated_at": "2026-01-01T00:00:00+00:00",
            "elapsed_s": 12.5,
            "candidate": "gradcheck.hand.backprop:hand_grads",
        },
    )


# -- data -------------------------------------------------------------------------------------
def test_summary_counts_each_verdict_and_fails_only_on_code_not_documents() -> None:
    data = _data(
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


def test_summary_is_ok_with_document_discrepancies_alone() -> None:
    summary = _data(golden_verdicts=("discrepancy", "match-truncated"))["summary"]
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


# -- HTML -------------------------------------------------------------------------------------
def test_banner_says_all_verified_only_when_nothing_failed() -> None:
    good = report.render_html(_data())
    assert "All verified" in good and "failure" not in good.split("</section>")[0]
    bad = report.render_html(
        _data(
            golden_verdicts=("discrepancy", "match"),
            gradient_status="backprop-bug",
            generated=(True, False),
        )
    )
    assert re.search(r"<h1>\s*2 failures\s*</h1>", bad)
    assert "All verified" not in bad


def test_discrepancy_rows_are_marked_and_counted() -> None:
    page = report.render_html(_data(golden_verdicts=("match", "discrepancy", "discrepancy")))
    html = page[page.index('<section id="golden">') : page.index('<section id="gradients">')]
    assert len(re.findall(r"<tr class=\"fail\"><td class=\"m\">out:o", html)) == 2
    assert "2 discrepancies in 3 values" in html
    assert html.count("<b>typo</b>: typo: a digit") == 2


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
    assert saved == report_data.to_jsonable(data)
    assert saved["summary"]["ok"] is True
    assert html_path.read_text() == report.render_html(saved)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "report.json"]


def test_a_crash_while_rendering_leaves_the_previous_report_whole(tmp_path: Path) -> None:
    report.write_report(_data(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    broken = _data()
    del broken["gradients"][0]["entries"][0]["hand"]
    with pytest.raises(jinja2.UndefinedError, match="hand"):
        report.write_report(broken, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_crash_while_renaming_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report.write_report(_data(), tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def interrupted(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        report.write_report(_data(generated=(False,)), tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_failing_generated_networks_are_saved_beside_the_page_with_their_command(
    tmp_path: Path,
) -> None:
    data = _data(generated=(True, False, False))
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
    html_path, _ = report.write_report(_data(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "report.json"]
    assert "Failing generated networks" not in html_path.read_text()


def test_out_path_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("not a folder")
    with pytest.raises(report_data.ReportError, match=r"taken: --out must be a folder") as err:
        report.write_report(_data(), target)
    assert "\n" not in str(err.value)


def test_out_path_the_os_refuses_is_a_one_line_error_naming_it(tmp_path: Path) -> None:
    too_long = tmp_path / ("a" * 300)  # longer than any file system allows one name to be
    with pytest.raises(
        report_data.ReportError, match=r"a{300}: cannot write the report \(File name"
    ):
        report.write_report(_data(), too_long)
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_while_writing_leaves_no_temporary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(report_data.ReportError, match=r"cannot write the report \(No space left"):
        report.write_report(_data(), tmp_path)
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


def test_report_command_writes_a_page_chromium_shows_with_nothing_loaded_from_outside(
    tmp_path: Path, run_cli: RunCli
) -> None:
    out = tmp_path / "reports"
    status, stdout, _ = run_cli(["report", "--out", str(out), "--examples", "6", "--seed", "3"])
    assert status == 0, stdout
    assert re.fullmatch(
        r"all verified: wrote .*index\.html \(\d+ KiB\) and .*report\.json in [\d.]+ s\n", stdout
    )
    data = json.loads((out / "report.json").read_text())
    assert data["schema"] == report_data.SCHEMA and data["summary"]["ok"] is True
    documented = [s for s in builtin_specs() if s.documented]  # the built-in networks' values
    assert [g["network"] for g in data["golden"]] == [s.name for s in documented]
    assert [len(g["records"]) for g in data["golden"]] == [len(s.documented) for s in documented]
    assert len(data["properties"]["networks"]) == 6 and data["properties"]["seed"] == 3
    assert data["environment"]["command"] == f"gradcheck report --out {out} --examples 6 --seed 3"
    trained = {t["network"]: t for t in data["training"]}
    assert trained["sigmoid-2-2-2"]["jax"]["steps"] == 10000  # the document's 10000 updates
    assert {f["verdict_output_first"] for f in trained["sigmoid-2-2-2"]["finals"]} == {"match"}

    from playwright.sync_api import sync_playwright

    url = (out / "index.html").resolve().as_uri()
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
            assert banner.inner_text().startswith("All verified")
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
                assert table.is_visible()
                discrepancies = sum(r["verdict"] == "discrepancy" for r in golden["records"])
                assert table.locator("tr.fail").count() == discrepancies > 0
        finally:
            browser.close()
    assert requests == [url]
    assert problems == []
    assert shot.stat().st_size > 10_000


BUGGY_CANDIDATE = """
from gradcheck.hand import hand_grads


def doubled_bias_grad(spec, params, inputs, targets):
    grads = hand_grads(spec, params, inputs, targets)
    return [{k: 2 * g if k == "b" else g for k, g in layer.items()} for layer in grads]
"""


def test_report_on_a_buggy_candidate_fails_and_shows_a_shrunk_counterexample(
    tmp_path: Path, run_cli: RunCli
) -> None:
    candidate = tmp_path / "buggy.py"
    candidate.write_text(BUGGY_CANDIDATE)
    out = tmp_path / "reports"
    args = ["report", "--out", str(out), "--examples", "8", "--candidate"]
    status, stdout, _ = run_cli([*args, f"{candidate}:doubled_bias_grad"])
    data = json.loads((out / "report.json").read_text())
    failed = [n for n in data["properties"]["networks"] if not n["ok"]]
    assert status == 1 and failed
    assert stdout.startswith(f"{data['summary']['failures']} failures: wrote ")
    example = data["properties"]["counterexample"]
    assert example["shrunk"] is True and "backprop-bug" in example["summary"]
    replayed = parse_spec(tomllib.loads(example["replay"]))
    assert replayed.n_params <= min(n["n_params"] for n in failed)
    assert any("b" in layer for layer in replayed.initial_params())  # the bug needs a bias
    html = (out / "index.html").read_text()
    assert "Shrunk by Hypothesis to" in html and f"{candidate}:doubled_bias_grad" in html
    # every failing generated network saved beside the page, its command in report.json and
    # on the page; the command checks that network again and fails the same way
    saved = sorted((out / "failures").iterdir())
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
