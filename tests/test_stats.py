"""Counts, the 重層的支援体制整備事業 report figures, and the CSV Excel opens."""
from __future__ import annotations

import csv
import io

import pytest

from engine.casework import stats
from engine.pack import load_pack


@pytest.fixture(scope="module")
def pack():
    return load_pack()


def case(case_id, received_on, *, status="received", channel="self", area="area1", priority="normal",
         programs=(), agencies=(), meetings=(), plan=None, done=()) -> dict:
    named = lambda ids: [{"id": i, "name": i} for i in ids]  # noqa: E731
    record = {
        "id": case_id, "status": status,
        "intake": {"received_on": received_on, "channel": channel, "resident": area is not None,
                   "person": {"name": "架空 太郎", "kana": "カクウ タロウ", "age": 50, "concerns": ["work"]}},
        "decision": {"priority": priority, "programs": named(programs), "agencies": named(agencies),
                     "meetings": named(meetings)},
        "meetings_done": [{"meeting": m, "held_on": d, "outcome": "plan_approved"} for m, d in done],
    }
    if area is not None:
        record["intake"]["area"] = area
    if plan is not None:
        record["plan"] = plan
    return record


# 2025年度 (2025-04-01 … 2026-03-31) has C1–C4; C5 is in 2026年度.
CASES = [
    case("C1", "2025-04-10", programs=["comprehensive"], agencies=["houkatsu_a"]),
    case("C2", "2025-06-05", status="meeting", channel="family", area="area2", priority="high",
         programs=["comprehensive", "multi_agency"], agencies=["kurashi_marugoto", "houkatsu_a"], meetings=["juso_kaigi"],
         plan={"made_on": "2025-07-01", "goal": "…"},
         done=[("juso_kaigi", "2025-07-17"), ("juso_kaigi", "2025-08-21")]),
    case("C3", "2025-06-30", status="support", channel="neighbour", area="area2", priority="urgent",
         programs=["multi_agency", "outreach"], agencies=["csw_area2"], meetings=["shien_kaigi"],
         done=[("shien_kaigi", "2025-07-17")]),
    case("C4", "2026-03-31", status="planning", channel="minsei", area=None, programs=["multi_agency", "participation"],
         agencies=["deleted_agency"], meetings=["juso_kaigi"], plan={"made_on": "2026-04-02"},
         done=[("juso_kaigi", "2025-07-17")]),
    case("C5", "2026-04-01", programs=["participation", "outreach"], agencies=["csw_area1"],
         plan={"goal": "made_on missing: counts by 受付日"}, done=[("juso_kaigi", "2026-04-16")]),
]
FY2025 = stats.fiscal_period(2025)


def test_counts_by_every_dimension():
    counted = stats.counts(CASES)
    assert counted["program"] == {"comprehensive": 2, "multi_agency": 3, "outreach": 2, "participation": 2}
    assert counted["agency"] == {"houkatsu_a": 2, "kurashi_marugoto": 1, "csw_area2": 1, "deleted_agency": 1,
                                 "csw_area1": 1}
    assert counted["area"] == {"area1": 2, "area2": 2, "": 1}
    assert counted["month"] == {"2025-04": 1, "2025-06": 2, "2026-03": 1, "2026-04": 1}
    assert counted["status"] == {"received": 2, "meeting": 1, "support": 1, "planning": 1}
    assert counted["channel"] == {"self": 2, "family": 1, "neighbour": 1, "minsei": 1}
    assert counted["priority"] == {"normal": 3, "high": 1, "urgent": 1}


def test_counts_in_a_period():
    counted = stats.counts(CASES, *FY2025)
    assert sum(counted["status"].values()) == 4
    assert counted["month"] == {"2025-04": 1, "2025-06": 2, "2026-03": 1}
    assert stats.counts(CASES, "2025-06-05", "2025-06-05")["program"] == {"comprehensive": 1, "multi_agency": 1}


def test_report_figures_for_a_fiscal_year(pack):
    report = stats.report(CASES, *FY2025, stats.pack_figures(pack))
    routed = dict(report.routed)
    assert report.new_cases == 4
    assert routed["多機関協働事業につないだ件数"] == 3       # C2, C3, C4
    assert report.plans == 1                         # C2's plan; C4's was made in the next 年度
    assert report.meetings_held == 3                 # juso 07-17, juso 08-21, shien 07-17
    assert report.discussed == 4                     # C2 twice, C3 once, C4 once
    assert report.held_by_meeting == {"juso_kaigi": 2, "shien_kaigi": 1}
    assert report.discussed_by_meeting == {"juso_kaigi": 3, "shien_kaigi": 1}
    assert routed["支援会議につないだ件数"] == 1
    assert routed["参加支援事業につないだ件数"] == 1
    assert routed["アウトリーチ等につないだ件数"] == 1
    assert dict(report.figures())["新規相談件数"] == 4


def test_report_over_all_time(pack):
    report = stats.report(CASES, figures=stats.pack_figures(pack))
    routed = dict(report.routed)
    assert (report.new_cases, routed["多機関協働事業につないだ件数"], report.plans) == (5, 3, 3)
    assert (report.meetings_held, report.discussed) == (4, 5)
    assert (routed["参加支援事業につないだ件数"], routed["アウトリーチ等につないだ件数"]) == (2, 2)
    assert [label for label, _ in report.figures()] == [
        "新規相談件数", "プラン作成件数", "会議開催件数", "会議で協議した件数",
        "多機関協働事業につないだ件数", "支援会議につないだ件数", "参加支援事業につないだ件数", "アウトリーチ等につないだ件数"]


def test_a_figure_counts_a_case_once_whatever_it_names():
    both = stats.Figure("どちらか", programs=("multi_agency",), meetings=("juso_kaigi",))
    assert dict(stats.report(CASES, figures=[both]).routed) == {"どちらか": 3}   # C2, C3, C4; C2 hits both, once


def test_nothing_to_count():
    assert stats.report([]) == stats.Report()
    assert stats.counts([]) == {d: {} for d in stats.DIMENSIONS}
    assert stats.report(CASES, "2030-01-01", "2030-12-31").new_cases == 0


def test_odd_records_are_counted_not_crashed():
    odd = [{"id": "X1"}, {"id": "X2", "intake": None, "decision": None, "meetings_done": None, "plan": "?"},
           {"id": "X3", "meetings_done": [None, {"meeting": None}, {"meeting": "juso_kaigi"}]}, "junk"]
    counted = stats.counts(odd)
    assert counted["status"] == {"": 3} and counted["program"] == {"": 3}
    report = stats.report(odd)
    assert (report.new_cases, report.meetings_held, report.discussed) == (3, 1, 1)
    assert stats.report(odd, "2026-01-01").new_cases == 0


def test_labelled_in_pack_order_with_unknown_and_missing(pack):
    counted = stats.counts(CASES)
    areas = stats.labelled(pack, "area", counted["area"])
    assert areas == [("第1圏域", 2), ("第2圏域", 2), ("第3圏域", 0), ("第4圏域", 0), ("（なし）", 1)]
    agencies = dict(stats.labelled(pack, "agency", counted["agency"]))
    assert agencies["deleted_agency（不明なID）"] == 1
    assert stats.labelled(pack, "month", counted["month"])[0] == ("2025-04", 1)


def test_fiscal_years():
    assert stats.fiscal_years(CASES + [{"id": "X"}]) == [2026, 2025]
    assert stats.fiscal_period(2025) == ("2025-04-01", "2026-03-31")


def test_case_rows_carry_no_personal_fields(pack):
    row = stats.case_row(pack, CASES[1])
    assert set(row) == set(stats.CASE_COLUMNS)
    assert "架空 太郎" not in str(row.values()) and "カクウ" not in str(row.values())
    assert row["ID"] == "C2" and row["状態"] == "会議" and row["プラン"] == "あり" and row["会議で協議"] == 2
    assert stats.case_row(pack, CASES[3])["圏域"] == "市外"
    assert stats.case_row(pack, {"id": "X1"})["状態"] == ""


# -- CSV -------------------------------------------------------------------------
ROWS = [{"項目": "介護", "件数": 3}, {"項目": "ひきこもり・孤立", "件数": 0},
        {"項目": 'カンマ,と"引用符"と\n改行', "件数": None}, {"件数": 7}]


def test_csv_is_utf8_with_bom_and_crlf():
    data = stats.to_csv(ROWS, ["項目", "件数"])
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.startswith("項目,件数\r\n介護,3\r\n")
    assert text.endswith("\r\n")
    assert text.count("\n") == text.count("\r\n") + 1       # the one bare LF is inside a quoted cell


def test_csv_round_trips_with_csv_reader():
    text = stats.to_csv(ROWS, ["項目", "件数"]).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["項目", "件数"], ["介護", "3"], ["ひきこもり・孤立", "0"], ['カンマ,と"引用符"と\n改行', ""], ["", "7"]]


def test_csv_of_counts_and_cases(pack):
    counts_csv = stats.to_csv(stats.count_rows(pack, stats.counts(CASES)), ["区分", "項目", "件数"]).decode("utf-8-sig")
    assert "圏域,第1圏域,2\r\n" in counts_csv
    cases_csv = stats.to_csv([stats.case_row(pack, c) for c in CASES], stats.CASE_COLUMNS).decode("utf-8-sig")
    parsed = list(csv.DictReader(io.StringIO(cases_csv, newline="")))
    assert [r["ID"] for r in parsed] == ["C1", "C2", "C3", "C4", "C5"]
    assert parsed[1]["事業"] == "包括的相談支援事業、多機関協働事業"
    assert "架空" not in cases_csv


def test_empty_csv_is_just_the_header():
    assert stats.to_csv([], ["ID"]) == b"\xef\xbb\xbfID\r\n"


@pytest.mark.parametrize("lead", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_never_start_a_formula(lead):
    import csv
    import io
    payload = f'{lead}HYPERLINK("http://evil.example/","x")'
    data = stats.to_csv([{"項目": payload, "件数": -2, "機関": [payload, "包括"]}], ["項目", "件数", "機関"])
    row = next(csv.reader(io.StringIO(data.decode("utf-8-sig").split("\r\n", 1)[1])))
    assert row[0] == "'" + payload and row[1] == "-2" and row[2].startswith("'")
