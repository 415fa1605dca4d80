"""The case list: filters, search, sort and paging over stored case records."""
from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.casework.caselist import CaseQuery, Page, QueryError, fold, row_view, run_query
from engine.pack import load_pack


@pytest.fixture(scope="module")
def pack():
    return load_pack()


def case(case_id: str, received_on: str | None = "2026-04-01", status: str = "received", area: str | None = "area1",
         programs=(), agencies=(), meetings=(), priority: str | None = "normal", name: str | None = None,
         kana: str | None = None) -> dict:
    """A stored case record as engine.casework.cases.new_record builds it, with only what the list reads."""
    person = {"age": 70, "concerns": ["care_need"]}
    if name is not None:
        person["name"] = name
    if kana is not None:
        person["kana"] = kana
    intake = {"channel": "self", "resident": area is not None, "consent": "yes", "person": person}
    if received_on is not None:
        intake["received_on"] = received_on
    if area is not None:
        intake["area"] = area
    named = lambda ids: [{"id": i, "name": i} for i in ids]  # noqa: E731
    decision = {"programs": named(programs), "agencies": named(agencies), "meetings": named(meetings)}
    if priority is not None:
        decision["priority"] = priority
    return {"id": case_id, "revision": 1, "status": status, "intake": intake, "decision": decision}


CASES = [
    case("C1", "2026-04-01", "received", "area1", ["comprehensive"], ["houkatsu_a"], [], "normal", "山田 花子", "ヤマダ ハナコ"),
    case("C2", "2026-05-10", "assessment", "area2", ["comprehensive", "multi_agency"], ["kurashi_marugoto"],
         ["juso_kaigi"], "high", "佐藤 太郎", "サトウ タロウ"),
    case("C3", "2026-06-20", "planning", "area3", ["multi_agency", "outreach"], ["csw_area3"], ["shien_kaigi"],
         "urgent", "鈴木 一郎", "スズキ イチロウ"),
    case("C4", "2026-06-20", "closed", None, ["comprehensive"], ["residence_municipality"], [], "normal",
         "田中 陽子", "たなか ようこ"),
    case("C5", "2026-07-01", "support", "area1", ["participation"], ["houkatsu_a", "csw_area1"], ["juso_kaigi"],
         "urgent", "山田 太郎", "ﾔﾏﾀﾞ ﾀﾛｳ"),
]


def ids(page: Page) -> list[str]:
    return [c["id"] for c in page.rows]


def query_ids(**kwargs) -> list[str]:
    return ids(run_query(CASES, CaseQuery(sort="id", **kwargs)))


# -- filters -----------------------------------------------------------------
@pytest.mark.parametrize("kwargs, expected", [
    ({}, ["C1", "C2", "C3", "C4", "C5"]),
    ({"statuses": ("received", "closed")}, ["C1", "C4"]),
    ({"programs": ("multi_agency",)}, ["C2", "C3"]),
    ({"programs": ("participation", "outreach")}, ["C3", "C5"]),
    ({"agencies": ("houkatsu_a",)}, ["C1", "C5"]),
    ({"areas": ("area1",)}, ["C1", "C5"]),
    ({"meetings": ("juso_kaigi",)}, ["C2", "C5"]),
    ({"meetings": ("shien_kaigi", "juso_kaigi")}, ["C2", "C3", "C5"]),
    ({"priorities": ("urgent",)}, ["C3", "C5"]),
    ({"date_from": "2026-06-20"}, ["C3", "C4", "C5"]),
    ({"date_to": "2026-05-10"}, ["C1", "C2"]),
    ({"date_from": "2026-05-01", "date_to": "2026-06-20"}, ["C2", "C3", "C4"]),
], ids=lambda v: str(v) if isinstance(v, dict) else "")
def test_each_filter(kwargs, expected):
    assert query_ids(**kwargs) == expected


def test_filters_combine_with_and():
    assert query_ids(areas=("area1",), priorities=("urgent",)) == ["C5"]
    assert query_ids(programs=("multi_agency",), meetings=("juso_kaigi",)) == ["C2"]
    assert query_ids(areas=("area1",), statuses=("planning",)) == []


def test_filters_accept_lists_and_dates_from_widgets():
    import datetime as dt
    query = CaseQuery(areas=["area1"], date_from=dt.date(2026, 5, 1))
    assert query.areas == ("area1",) and query.date_from == "2026-05-01"
    assert ids(run_query(CASES, query)) == ["C5"]
    hash(query)                                                   # still usable as a cache key


@pytest.mark.parametrize("kwargs", [{"sort": "newest"}, {"page": 0}, {"per_page": 0}, {"date_from": 20260401}])
def test_bad_query_is_a_query_error(kwargs):
    with pytest.raises(QueryError):
        CaseQuery(**kwargs)


# -- text search -------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("やまだ", ["C1", "C5"]),          # ひらがな finds カタカナ kana (C1) and 半角カナ (C5)
    ("ヤマダ", ["C1", "C5"]),
    ("ﾀﾛｳ", ["C2", "C5"]),
    ("タナカ", ["C4"]),                # カタカナ finds ひらがな kana
    ("山田", ["C1", "C5"]),
    ("山田花子", ["C1"]),              # spaces in the record are ignored
    ("やまだ　はなこ", ["C1"]),        # and in the query (全角スペース)
    ("  ", ["C1", "C2", "C3", "C4", "C5"]),
    ("たかはし", []),
])
def test_text_search_on_name_and_kana(text, expected):
    assert query_ids(text=text) == expected


def test_fold():
    assert fold("ヤマダ　ﾊﾅｺ") == fold("やまだはなこ") == "やまだはなこ"
    assert fold("ＡＢＣ") == "abc"
    assert fold(None) == fold(42) == ""


# -- sort ----------------------------------------------------------------------
@pytest.mark.parametrize("sort, expected", [
    ("received_on_desc", ["C5", "C4", "C3", "C2", "C1"]),      # same day: higher id first
    ("received_on_asc", ["C1", "C2", "C3", "C4", "C5"]),
    ("priority", ["C5", "C3", "C2", "C4", "C1"]),              # urgent, high, normal; newest first inside
    ("status", ["C1", "C2", "C3", "C5", "C4"]),                # lifecycle order: 受付 … 支援実施 … 終結
    ("id", ["C1", "C2", "C3", "C4", "C5"]),
])
def test_sort_orders(pack, sort, expected):
    assert ids(run_query(CASES, CaseQuery(sort=sort), pack)) == expected


def test_default_sort_is_newest_first():
    assert ids(run_query(CASES, CaseQuery()))[0] == "C5"


def test_priority_sort_without_pack_uses_the_usual_ranks():
    assert ids(run_query(CASES, CaseQuery(sort="priority")))[:2] == ["C5", "C3"]


# -- pages ---------------------------------------------------------------------
def many(n: int) -> list[dict]:
    return [case(f"C{i:03d}", f"2026-{1 + i % 12:02d}-01") for i in range(n)]


def test_pages_and_last_partial_page():
    cases = many(23)
    first = run_query(cases, CaseQuery(sort="id", per_page=10))
    assert (first.total, first.page, first.pages, len(first.rows)) == (23, 1, 3, 10)
    assert (first.first, first.last) == (1, 10)
    last = run_query(cases, CaseQuery(sort="id", per_page=10, page=3))
    assert ids(last) == ["C020", "C021", "C022"]
    assert (last.first, last.last) == (21, 23)


def test_page_beyond_the_end_clamps_to_the_last():
    page = run_query(many(23), CaseQuery(sort="id", per_page=10, page=99))
    assert page.page == 3 and ids(page) == ["C020", "C021", "C022"]


def test_exact_multiple_has_no_empty_page():
    page = run_query(many(20), CaseQuery(per_page=10, page=3))
    assert (page.pages, page.page, len(page.rows)) == (2, 2, 10)


def test_empty_result_is_one_empty_page():
    page = run_query([], CaseQuery(page=5))
    assert (page.rows, page.total, page.page, page.pages, page.first, page.last) == ([], 0, 1, 1, 0, 0)


def test_default_page_size_is_50():
    page = run_query(many(120), CaseQuery())
    assert (len(page.rows), page.pages) == (50, 3)


# -- odd records ---------------------------------------------------------------
ODD = [
    {"id": "X1"},                                                         # no intake, no decision
    {"id": "X2", "intake": None, "decision": None, "status": None},
    {"id": "X3", "intake": {"person": None, "received_on": None, "area": ["area1"]}, "decision": {"programs": None}},
    {"id": "X4", "intake": {"person": {"name": 7, "kana": ["ヤマダ"]}}, "status": ["received"],
     "decision": {"programs": ["multi_agency", None, {"id": ["x"]}, {"name": "no id"}], "priority": {"x": 1}}},
    case("X5", agencies=["deleted_agency"], programs=["retired_program"], meetings=["gone"], status="archived",
         priority="unheard_of", area="area9"),
    "not a record",
]


@pytest.mark.parametrize("query", [
    CaseQuery(), CaseQuery(statuses=("received",)), CaseQuery(programs=("multi_agency",)),
    CaseQuery(agencies=("deleted_agency",)), CaseQuery(areas=("area1",)), CaseQuery(meetings=("gone",)),
    CaseQuery(priorities=("urgent",)), CaseQuery(date_from="2026-01-01"), CaseQuery(text="やまだ"),
    *(CaseQuery(sort=s) for s in ("received_on_desc", "received_on_asc", "priority", "status", "id")),
])
def test_odd_records_never_crash(pack, query):
    page = run_query(ODD + CASES, query, pack)
    for row in page.rows:
        row_view(pack, row)


def test_unknown_ids_still_match_and_show(pack):
    assert query_ids(agencies=("deleted_agency",)) == []
    page = run_query(ODD, CaseQuery(agencies=("deleted_agency",)), pack)
    assert ids(page) == ["X5"]
    assert ids(run_query(ODD, CaseQuery(programs=("multi_agency",)))) == ["X4"]
    row = row_view(pack, page.rows[0])
    assert "deleted_agency" not in row.values()             # agencies are not a column, but must not break it
    assert row["事業"] == "retired_program（不明なID）"
    assert row["状態"] == "archived（不明なID）"
    assert row["圏域"] == "area9（不明なID）"


def test_unknown_status_sorts_last(pack):
    order = ids(run_query(CASES + [ODD[4]], CaseQuery(sort="status"), pack))
    assert order[-1] == "X5"


def test_odd_record_row_view(pack):
    assert row_view(pack, {"id": "X1"}) == {"ID": "X1", "受付日": "", "氏名": "", "圏域": "", "状態": "",
                                           "優先度": "", "事業": "", "会議": ""}


# -- row view ------------------------------------------------------------------
def test_row_view_in_japanese(pack):
    row = row_view(pack, CASES[2])
    assert row == {"ID": "C3", "受付日": "令和8年6月20日", "氏名": "鈴木 一郎", "圏域": "第3圏域",
                   "状態": "プラン作成", "優先度": "🚨 緊急", "事業": "多機関協働事業、アウトリーチ等を通じた継続的支援事業",
                   "会議": "支援会議"}
    assert row_view(pack, CASES[3])["圏域"] == "市外"
    assert row_view(pack, case("N", name=None))["氏名"] == ""


def test_row_view_of_a_real_record(pack):
    from engine.casework.cases import new_record
    from engine.casework.demo import demo_cases
    record, _ = new_record(pack, next(demo_cases(pack, 1, seed=3)))
    record["id"] = "C20261126-000001"
    row = row_view(pack, record)
    assert row["ID"] == "C20261126-000001" and row["氏名"] == record["intake"]["person"]["name"]
    assert "不明" not in row["事業"] + row["会議"] + row["状態"] + row["優先度"]


# -- against a naive filter ---------------------------------------------------
STATUSES = ["received", "assessment", "closed", "gone"]
PROGRAMS = ["comprehensive", "multi_agency", "outreach", "retired"]
AGENCIES = ["houkatsu_a", "csw_area1", "deleted_agency"]
AREAS = ["area1", "area2", "area9"]
MEETINGS = ["juso_kaigi", "shien_kaigi"]
PRIORITIES = ["normal", "high", "urgent"]
DATES = ["2026-01-31", "2026-02-01", "2026-02-28", "2026-03-01", "2026-12-31"]
KANA = "やまだヤマダﾔﾏﾀﾞはなこハナコ 　山田花子"


def maybe(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def records(draw):
    n = draw(st.integers(0, 25))
    out = []
    for i in range(n):
        out.append(case(
            f"C{i:03d}", draw(maybe(st.sampled_from(DATES))), draw(st.sampled_from(STATUSES)),
            draw(maybe(st.sampled_from(AREAS))), draw(st.lists(st.sampled_from(PROGRAMS), max_size=3)),
            draw(st.lists(st.sampled_from(AGENCIES), max_size=2)), draw(st.lists(st.sampled_from(MEETINGS), max_size=2)),
            draw(maybe(st.sampled_from(PRIORITIES))), draw(maybe(st.text(KANA, max_size=6))),
            draw(maybe(st.text(KANA, max_size=6)))))
    return out


def subset(values):
    return st.lists(st.sampled_from(values), max_size=2, unique=True).map(tuple)


queries = st.builds(
    CaseQuery, statuses=subset(STATUSES), programs=subset(PROGRAMS), agencies=subset(AGENCIES), areas=subset(AREAS),
    meetings=subset(MEETINGS), priorities=subset(PRIORITIES), date_from=maybe(st.sampled_from(DATES)),
    date_to=maybe(st.sampled_from(DATES)), text=st.text(KANA, max_size=3),
    sort=st.sampled_from(["received_on_desc", "received_on_asc", "priority", "status", "id"]),
    per_page=st.integers(1, 30), page=st.integers(1, 40))


def naive_fold(text) -> str:
    if not isinstance(text, str):
        return ""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(chr(ord(c) - 96) if 0x30A1 <= ord(c) <= 0x30F6 else c for c in text if c not in " \u3000")


def naive_match(c: dict, q: CaseQuery) -> bool:
    intake, decision = c["intake"], c["decision"]
    ids_of = lambda key: {x["id"] for x in decision[key]}  # noqa: E731
    day = intake.get("received_on")
    needle = naive_fold(q.text)
    return ((not q.statuses or c["status"] in q.statuses)
            and (not q.programs or ids_of("programs") & set(q.programs))
            and (not q.agencies or ids_of("agencies") & set(q.agencies))
            and (not q.meetings or ids_of("meetings") & set(q.meetings))
            and (not q.areas or intake.get("area") in q.areas)
            and (not q.priorities or decision.get("priority") in q.priorities)
            and (not q.date_from or (day is not None and day >= q.date_from))
            and (not q.date_to or (day is not None and day <= q.date_to))
            and (not needle or needle in naive_fold(intake["person"].get("name"))
                 or needle in naive_fold(intake["person"].get("kana"))))


@settings(max_examples=300, deadline=None)
@given(records(), queries)
def test_filter_equals_a_naive_filter(pack, cases, query):
    expected = [c for c in cases if naive_match(c, query)]
    page = run_query(cases, query, pack)
    assert page.total == len(expected)
    assert page.pages == max(1, -(-len(expected) // query.per_page))
    assert page.page == min(query.page, page.pages)
    assert len(page.rows) == len(expected[(page.page - 1) * query.per_page:page.page * query.per_page])
    whole = run_query(cases, CaseQuery(**{**query.__dict__, "page": 1, "per_page": 1000}), pack)
    assert sorted(ids(whole)) == sorted(c["id"] for c in expected)
    if query.sort == "received_on_desc":
        days = [c["intake"].get("received_on", "") for c in whole.rows]
        assert days == sorted(days, reverse=True)
    # Pages cut the same order the whole list has.
    start = (page.page - 1) * query.per_page
    assert ids(page) == ids(whole)[start:start + query.per_page]
