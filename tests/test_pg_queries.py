"""The case list, the dashboard and the visible counts in SQL give exactly the Python answers.

The same cases go into the embedded store and into PostgreSQL; for each kind of user and
each query, ScopedRepository answers through Python (files) and through SQL (PostgreSQL),
and the answers must be equal — rows, their order, totals, pages, masks, every count.
"""
from __future__ import annotations

import random

import pytest

from engine.casework.access import Access, ScopedRepository
from engine.casework.caselist import SORTS, CaseQuery
from engine.casework.cases import new_record
from engine.casework.demo import demo_cases
from engine.pack import load_pack
from storage import open_repository
from storage.users import User

PACK = load_pack()

USERS = [
    User("admin1", "管理者", ("admin",)),
    User("staff_a", "包括Aの職員", ("agency_staff",), "houkatsu_a"),
    User("member1", "支援会議の構成員", ("shien_kaigi_member",), "csw_area1"),
    User("csw2", "CSW", ("agency_staff",), "csw_area2"),
    User("trainee1", "研修生", ("trainee",)),
]


def odd_records(rng: random.Random) -> list[dict]:
    """Cases as real use leaves them: plans, meetings held, consent withheld, taken by staff, odd old records."""
    out = []
    for n, case in enumerate(demo_cases(PACK, 400, seed=5)):
        record = new_record(PACK, case, rng.choice(["admin1", "staff_a", "member1", "demo"]))[0]
        record["id"] = f"C2026{n:04d}"
        if rng.random() < 0.3:
            record["status"] = rng.choice([s.id for s in PACK.statuses])
        if rng.random() < 0.2:
            record["intake"]["receiving_agency"] = rng.choice(["houkatsu_a", "csw_area1", None])
        if rng.random() < 0.15:
            record["plan"] = {"made_on": rng.choice(["2026-05-01", "", "2025-12-24"]), "goal": "x"}
        if rng.random() < 0.15:
            record["meetings_done"] = [{"meeting": rng.choice([m.id for m in PACK.meetings]),
                                        "held_on": rng.choice(["2026-05-12", "2026-06-09T10:00", "", None])}
                                       for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.03:
            record["decision"] = {"programs": ["multi_agency", "multi_agency"], "priority": 3}
        handed_over(rng, record)
        out.append(record)
    # 受付日 as odd records hold them: the month list walks down the dates, so short and non-ISO ones too.
    for n, day in enumerate(["2026-04", "2026-04-01T09:00", "2025", "令和8年4月1日", "", "2026-04-0", "1999-12-31"]):
        out.append({"id": f"C-day{n}", "intake": {"received_on": day, "area": "area1"}, "created_by": "staff_a"})
    out.append({"id": "C-old", "status": "unknown_status", "intake": {"received_on": 20260401}})
    out.append({"id": "C-bare"})
    return out


AGENCIES = [a.id for a in PACK.agencies]
MEETINGS = [m.id for m in PACK.meetings]


def handed_over(rng: random.Random, record: dict) -> None:
    """The hand-over's marks (engine/casework/handoff.py): a confirmed routing that differs from the
    recommendation (a confidential meeting added or removed), referrals, a 主担当, and household
    members whose consent differs from the person's."""
    if rng.random() < 0.3:
        record["confirmed"] = {"programs": rng.sample([p.id for p in PACK.programs], 2),
                               "agencies": rng.sample(AGENCIES, rng.randint(0, 3)),
                               "meetings": rng.sample(MEETINGS, rng.randint(0, 2)), "on": "2026-06-01"}
    if rng.random() < 0.2:
        record["referrals"] = [{"id": f"R{n}", "agency": rng.choice(AGENCIES),
                                "state": rng.choice(["pending", "accepted", "returned"])} for n in range(rng.randint(1, 2))]
    if rng.random() < 0.15:
        record["owner"] = {"agency": rng.choice(AGENCIES + [""]), "worker": "staff_a"}
    intake = record["intake"]
    if rng.random() < 0.3:
        intake[PACK.members.self_group] = {**(intake.get(PACK.members.self_group) or {}),
                                           "consent": rng.choice(["yes", "no", None])}
    if rng.random() < 0.3:
        intake[PACK.members.repeat] = [{"relation": "child", "concerns": rng.choice([["debt"], [], None]),
                                        "consent": rng.choice(["yes", "no"])} for _ in range(rng.randint(1, 2))]


@pytest.fixture(scope="module")
def stores(tmp_path_factory, pg_server):
    import psycopg
    from tests.conftest import database_url
    records = odd_records(random.Random(11))
    folder = tmp_path_factory.mktemp("files")
    name = "q_" + format(random.getrandbits(40), "x")
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    files, pg = open_repository(folder), open_repository(database_url(pg_server, name))
    files.save_cases_bulk([dict(r) for r in records])
    pg.save_cases_bulk([dict(r) for r in records])
    yield files, pg
    files.close()
    pg.close()
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def stamped_apart(rows: list[dict]) -> list[dict]:
    """Rows without the save time each store stamped for itself."""
    return [{k: v for k, v in row.items() if k != "updated_at"} for row in rows]


QUERIES = [CaseQuery(sort=sort) for sort in SORTS] + [
    CaseQuery(statuses=("received", "closed"), sort="status", per_page=7, page=3),
    CaseQuery(programs=("multi_agency",), agencies=("houkatsu_a", "csw_area1"), sort="priority"),
    CaseQuery(meetings=("shien_kaigi",), areas=("area1", "area3")),
    CaseQuery(priorities=("urgent",), date_from="2026-01-01", date_to="2026-06-30", sort="received_on_asc"),
    CaseQuery(text="や", per_page=5, page=999),
    CaseQuery(text="%_\\", per_page=5),
    CaseQuery(date_to="2025-12-31", per_page=3, page=2),
]


@pytest.mark.parametrize("user", USERS, ids=lambda u: u.id)
def test_case_list_and_counts_in_sql_equal_python(stores, user):
    files, pg = stores
    access = Access.of(PACK, user)
    python, sql = ScopedRepository(files, PACK, access), ScopedRepository(pg, PACK, access)
    assert sql.counts() == python.counts()
    for query in QUERIES:
        want, got = python.case_page(query), sql.case_page(query)
        assert (got.total, got.page, got.pages) == (want.total, want.page, want.pages), query
        assert [c["id"] for c in got.rows] == [c["id"] for c in want.rows], query
        assert stamped_apart(got.rows) == stamped_apart(want.rows), query      # masked the same way


@pytest.mark.parametrize("user", USERS[:3], ids=lambda u: u.id)
@pytest.mark.parametrize("period", [(None, None), ("2026-04-01", "2027-03-31"), ("2026-05-12", "2026-06-09"),
                                    (None, "2025-12-31")])
def test_dashboard_in_sql_equals_python(stores, user, period):
    files, pg = stores
    access = Access.of(PACK, user)
    python, sql = ScopedRepository(files, PACK, access), ScopedRepository(pg, PACK, access)
    assert sql.fiscal_years() == python.fiscal_years()
    want_report, want_counts = python.dashboard(*period)
    got_report, got_counts = sql.dashboard(*period)
    assert got_report == want_report
    assert got_counts == want_counts


def test_an_upgraded_database_fills_the_new_columns_from_existing_cases(pg_url):
    import psycopg
    from storage.pg_database import migrations
    first = migrations()[0]
    with psycopg.connect(pg_url) as conn:                     # a database left at schema version 1
        conn.execute(first[2])
        conn.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                     "applied_at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (1, %s)", (first[1],))
        conn.execute("INSERT INTO cases (id, revision, body, received_on) VALUES ('C1', 1, %s, '2026-04-02')",
                     ('{"intake": {"channel": "minsei"}, "plan": {"made_on": ""}, '
                      '"meetings_done": [{"meeting": "shien_kaigi", "held_on": "2026-05-01"}]}',))
    with open_repository(pg_url) as repo, repo.sql() as conn:
        assert conn.execute("SELECT channel, plan_made_on, meetings_done IS NOT NULL FROM cases").fetchone() == \
            ("minsei", "2026-04-02", True)
        assert repo.get_case("C1")["intake"]["channel"] == "minsei"
