"""A document's golden discrepancies grouped by root cause (gradcheck.report.grouping), on the
seed networks' real records, in report.json and on the page."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from html import unescape
from typing import Any

import pytest
from sample_reports import sample_report

from gradcheck.golden.judging import check_spec
from gradcheck.report import data as report_data
from gradcheck.report import render as report
from gradcheck.report.grouping import CauseGroup, cause_groups
from gradcheck.spec import Spec, builtin_networks_dir, load_spec

Records = list[dict[str, Any]]


@pytest.fixture(scope="module")
def sigmoid_records(sigmoid_seed: Spec) -> Records:
    return [r.to_dict() for r in check_spec(sigmoid_seed)]


@pytest.fixture(scope="module")
def linear_records(linear_seed: Spec) -> Records:
    return [r.to_dict() for r in check_spec(linear_seed)]


def _by_key(groups: Sequence[CauseGroup]) -> dict[str, CauseGroup]:
    return {g["key"]: g for g in groups}


def _members(records: Records, group: CauseGroup) -> list[tuple[str, str, str]]:
    """(where's line, quantity, finding) of each record of the group."""
    return [
        (
            str(records[i]["where"]).split(":")[0],
            str(records[i]["quantity"]),
            str(records[i]["finding"]),
        )
        for i in group["records"]
    ]


@pytest.mark.parametrize("seed", ["sigmoid_records", "linear_records"])
def test_every_discrepancy_is_in_exactly_one_group_strongest_first(
    seed: str, request: pytest.FixtureRequest
) -> None:
    records: Records = request.getfixturevalue(seed)
    groups = cause_groups(records)
    grouped = sorted(i for g in groups for i in g["records"])
    assert grouped == [i for i, r in enumerate(records) if r["verdict"] == "discrepancy"]
    tiers = [("error", "convention", "rounding").index(g["tier"]) for g in groups]
    assert tiers == sorted(tiers)  # the document's errors, then conventions, then rounding
    for a, b in itertools.pairwise(groups):  # within a tier: more prints first
        if a["tier"] == b["tier"]:
            assert (-len(a["records"]), a["records"][0]) < (-len(b["records"]), b["records"][0])
    for g in groups:
        assert len(g["sentences"]) == len(g["records"])
        for i, sentence in zip(g["records"], g["sentences"], strict=True):
            r = records[i]
            assert sentence.startswith(f"{r['quantity']} printed {r['documented']} at line ")
            assert sentence.endswith(str(r["cause"]))


def test_sigmoid_seed_knock_ons_and_repeats_join_the_error_they_carry(
    sigmoid_records: Records,
) -> None:
    groups = _by_key(cause_groups(sigmoid_records))
    # seed 001 drops a 9 from out_h1 at line 73 and computes net_o2 on from it
    typo = groups["typo at line 73"]
    assert typo["tier"] == "error" and typo["finding"] == "typo"
    assert _members(sigmoid_records, typo) == [
        ("line 73", "out:h1", "typo"),
        ("line 73", "net:o2", "knock-on"),
    ]
    assert typo["title"] == (
        "A typo at line 73 (out:h1 printed 0.59326992), and the 1 print it reaches"
    )
    assert sigmoid_records[typo["root"] or 0]["documented"] == "0.59326992"
    # '0.' missing at line 305, printed again the same at line 374
    assert _members(sigmoid_records, groups["typo at line 305"]) == [
        ("line 305", "dloss_dout:o2", "typo"),
        ("line 374", "dloss_dout:o2", "repeat"),
    ]
    # dE/dw3 copied from dE/dw1 at line 573, and w3+ computed from the copy
    copied = groups["copied at line 573"]
    assert _members(sigmoid_records, copied)[1] == ("line 575", "updated:w3", "knock-on")
    assert "copied from another quantity at line 573" in copied["title"]


def test_sigmoid_seed_update_order_is_one_convention_and_rounding_comes_last(
    sigmoid_records: Records,
) -> None:
    groups = cause_groups(sigmoid_records)
    rule = _by_key(groups)["output-first"]
    assert rule["tier"] == "convention" and rule["finding"] == "rule" and rule["root"] is not None
    assert [q for _, q, _ in _members(sigmoid_records, rule)] == [
        "loss@1",
        "out:o1@10000",
        "out:o2@10000",
    ]
    assert rule["title"] == "The document's update rule output-first explains 3 prints"
    assert "output weights updated first" in rule["sentences"][0]
    assert groups[-1]["key"] == "intermediates" and groups[-1]["root"] is None
    assert _members(sigmoid_records, groups[-1]) == [("line 340", "grad:w7", "intermediates")]
    # two causes at one line stay apart: the typo and the wrong operator at line 561
    keys = [g["key"] for g in groups]
    assert "typo at line 561" in keys and "operator at line 561" in keys


def test_linear_seed_a_repeat_of_a_rounded_print_joins_the_rounding_group(
    linear_records: Records,
) -> None:
    groups = cause_groups(linear_records)
    assert [(g["tier"], g["key"], len(g["records"])) for g in groups] == [
        ("error", "slip at line 132", 1),  # 2 * 0.115 + 3 * 0.073 is 0.449, printed 0.448
        ("convention", "code-layout", 7),  # the code's transposed weight pairing
        ("rounding", "intermediates", 3),  # lines 131, 133 and the repeat of 133 at 137
    ]
    rounding = groups[-1]
    assert [w for w, _, _ in _members(linear_records, rounding)] == [
        "line 131",
        "line 133",
        "line 137",
    ]
    assert rounding["title"] == "Rounded or truncated intermediate values carried on (3 prints)"


def test_a_document_without_discrepancies_has_no_groups(linear_records: Records) -> None:
    matches = [r for r in linear_records if r["verdict"] != "discrepancy"]
    assert matches and cause_groups(matches) == []


def _seed_report(records: Records, spec: Spec) -> Mapping[str, Any]:
    data = sample_report(golden_verdicts=("match",))
    data["golden"] = [
        report_data.GoldenNetwork(
            network=spec.name,
            source=spec.model.source,
            sketch=report_data.network_sketch(spec),
            records=records,
            causes=cause_groups(records),
        )
    ]
    return data


def test_the_page_lists_each_cause_with_its_sentences_in_the_json_order(
    sigmoid_records: Records, sigmoid_seed: Spec
) -> None:
    data = _seed_report(sigmoid_records, sigmoid_seed)
    jsonable = report_data.to_jsonable(data)
    causes = jsonable["golden"][0]["causes"]
    assert [c["key"] for c in causes] == [g["key"] for g in cause_groups(sigmoid_records)]
    page = report.render_html(data)
    card = page[page.index('<div class="card golden"') : page.index('<table class="golden-table"')]
    keys = re.findall(r'<li class="cause-group \w+" data-tier="\w+" data-key="([^"]+)">', card)
    assert keys == [c["key"] for c in causes]
    inline = re.sub(r"</?(span|b)\b[^>]*>", "", card)  # as a browser joins them
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", inline)).split())
    positions = [text.index(" ".join(c["title"].split())) for c in causes]
    assert positions == sorted(positions)
    assert "out:o2@10000 printed 0.984065734 at line 611 (o2 after 10000 updates); follows" in text


def test_hostile_text_in_a_cause_group_is_escaped(
    sigmoid_records: Records, sigmoid_seed: Spec
) -> None:
    records = [dict(r) for r in sigmoid_records]
    first = next(i for i, r in enumerate(records) if r["verdict"] == "discrepancy")
    records[first]["where"] = "line 73: <script>alert(1)</script>"
    page = report.render_html(_seed_report(records, sigmoid_seed))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_public_tutorials_slip_groups_the_prints_it_reaches_across_kinds() -> None:
    spec = load_spec(builtin_networks_dir() / "documents" / "postnetwork_softmax.toml")
    records = [r.to_dict() for r in check_spec(spec)]
    groups = cause_groups(records)
    # z4 printed 0.185 (it is 0.157): y_hat2 from its shown arithmetic, the loss carried on
    assert [(g["key"], len(g["records"])) for g in groups] == [
        ("slip at line 23", 3),
        ("slip at line 25", 1),
    ]
    assert groups[0]["title"] == (
        "An arithmetic slip at line 23 (net:y2 printed 0.185), and the 2 prints it reaches"
    )
    assert [records[i]["quantity"] for i in groups[0]["records"]] == ["net:y2", "out:y2", "loss"]
