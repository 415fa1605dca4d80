"""The dashboard on the embedded store: each shard's tally is kept until the shard's file
changes, so a rerun reads nothing and a save re-reads one shard, and the answer is always
the one a single pass over every visible case gives."""
from __future__ import annotations

import pytest

from engine.casework import stats
from engine.casework.access import Access, ScopedRepository
from engine.casework.cases import new_record
from engine.casework.demo import demo_cases
from engine.casework.workflow import allowed_next, change_status
from engine.pack import load_pack
from storage import open_repository
from storage.tinydb_store import TinyDBRepository
from storage.users import User

PACK = load_pack()
USERS = [User("u_admin", "管理者", ("admin",)),
         User("u_houkatsu", "包括A職員", ("agency_staff",), "houkatsu_a"),
         User("u_member", "支援会議構成員", ("shien_kaigi_member",), "kikan_soudan")]
PERIODS = [(None, None), ("2026-04-01", "2027-03-31"), ("2026-10-01", "2026-10-31")]


@pytest.fixture()
def store(tmp_path):
    with TinyDBRepository(tmp_path, shards=16) as repo:
        records = [new_record(PACK, c, actor="u_admin")[0] for c in demo_cases(PACK, 150, seed=5)]
        repo.save_cases_bulk(records)
        yield tmp_path, repo


def one_pass(scoped: ScopedRepository, date_from, date_to):
    figures = stats.pack_figures(PACK)
    return scoped.read_cases(lambda cases: (stats.report(cases, date_from, date_to, figures),
                                            stats.counts(cases, date_from, date_to)))


def counted_tallies(monkeypatch) -> list:
    calls: list = []
    real = stats.tally

    def tally(cases, *args, **kwargs):
        calls.append(len(cases))
        return real(cases, *args, **kwargs)
    monkeypatch.setattr(stats, "tally", tally)
    return calls


def test_kept_tallies_equal_one_pass_for_each_user_and_period(store):
    """Users one after another on one store: nobody is shown what was kept for another user or period."""
    _, repo = store
    answers = set()
    for user in USERS:
        scoped = ScopedRepository(repo, PACK, Access.of(PACK, user))
        for period in PERIODS:
            for _ in range(2):                                 # worked out, then remembered
                assert scoped.dashboard(*period) == one_pass(scoped, *period), (user.id, period)
            answers.add(repr(scoped.dashboard(*period)))
        assert scoped.fiscal_years() == scoped.read_cases(stats.fiscal_years)
        seen = scoped.read_cases(len)
        assert scoped.counts() == (seen, repo.count_cases() - seen)
    assert len(answers) == len(USERS) * len(PERIODS)          # the users and periods do differ


def test_a_rerun_reads_no_shard_and_a_save_reads_one(store, monkeypatch):
    _, repo = store
    scoped = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
    calls = counted_tallies(monkeypatch)
    before, counted = scoped.dashboard()
    assert len(calls) == repo.shards
    calls.clear()
    assert scoped.dashboard() == (before, counted)
    assert calls == []

    case = repo.list_cases()[0]
    to = allowed_next(PACK, case["status"])[0]
    change_status(repo, PACK, case["id"], to, "u_admin")
    report, after = scoped.dashboard()
    assert len(calls) == 1                                      # only the saved case's shard
    assert after["status"].get(to, 0) == counted["status"].get(to, 0) + 1
    assert after["status"].get(case["status"], 0) == counted["status"][case["status"]] - 1
    assert (report, after) == one_pass(scoped, None, None)


def test_a_write_by_another_process_is_seen(store, monkeypatch):
    path, repo = store
    scoped = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
    before, _ = scoped.dashboard()
    intake = next(iter(demo_cases(PACK, 1, seed=99)))
    with open_repository(path) as other:                      # its own file handles and caches
        other.save_case(new_record(PACK, intake, actor="u_admin")[0])
    calls = counted_tallies(monkeypatch)
    after, _ = scoped.dashboard()
    assert after.new_cases == before.new_cases + 1
    assert len(calls) == 1
    assert scoped.counts()[0] == repo.count_cases()


def test_a_remembered_tally_is_not_changed_by_the_next_sum(store):
    _, repo = store
    scoped = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
    first = scoped.dashboard()
    for _ in range(3):
        assert scoped.dashboard() == first


@pytest.fixture()
def handed_over(tmp_path):
    """Demo cases handed over: referrals pending, overdue and answered, routings confirmed with changes."""
    from engine.casework.demo import mark_store, save_demo
    with TinyDBRepository(tmp_path, shards=16) as repo:
        mark_store(repo, "demo")
        save_demo(repo, PACK, 200, seed=8, actor="u_admin")
        yield repo


def handoffs_one_pass(scoped: ScopedRepository, today):
    from engine.casework import overrides, referrals
    return scoped.read_cases(lambda cases: (
        sum(r.get("state") == "pending" for c in cases for r in referrals.referrals_of(c)),
        referrals.overdue_count(cases, today), overrides.count(cases, today)))


def test_kept_handoff_counts_equal_one_pass_for_each_user_and_day(handed_over, monkeypatch):
    import datetime as dt

    from engine.casework import overrides
    from engine.casework.wareki import today as jst_today
    repo = handed_over
    days = [jst_today(), jst_today() - dt.timedelta(days=20), jst_today() + dt.timedelta(days=45)]
    answers = set()
    for user in USERS:
        scoped = ScopedRepository(repo, PACK, Access.of(PACK, user))
        for day in days:
            for _ in range(2):                                 # worked out, then remembered
                assert scoped.handoff_counts(day) == handoffs_one_pass(scoped, day), (user.id, day)
            answers.add(repr(scoped.handoff_counts(day)))
    assert len(answers) == len(USERS) * len(days)             # users and days do differ
    pending, late, changed = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0])).handoff_counts(days[0])
    assert pending and late and changed.total() and changed.by_rule     # the store has all of them

    # A rerun counts no shard; a save one.
    scoped = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
    calls: list = []
    real = overrides.count
    monkeypatch.setattr(overrides, "count", lambda cases, *a: calls.append(len(cases)) or real(cases, *a))
    scoped.handoff_counts(days[0])
    assert calls == []
    case = repo.list_cases()[0]
    repo.save_case({**case, "status_since": "2026-01-05"}, expected_revision=case["revision"])
    assert scoped.handoff_counts(days[0]) == handoffs_one_pass(scoped, days[0])
    assert len(calls) == 2                                    # the saved shard, then the one pass


def test_kept_todo_lists_equal_one_pass_for_each_user_and_day(handed_over, monkeypatch):
    """今日やること from kept per-shard answers is what one pass over every visible case gives, for
    each user and day; a rerun works out no shard again, a save the saved case's shard only."""
    import datetime as dt

    from engine.casework import duties
    from engine.casework.wareki import today as jst_today
    repo = handed_over
    days = [jst_today(), jst_today() - dt.timedelta(days=20), jst_today() + dt.timedelta(days=45)]
    users = [*USERS, User("u_jiritsu", "自立相談職員", ("agency_staff",), "jiritsu_soudan")]
    answers: dict[str, set] = {}
    for user in users:
        scoped = ScopedRepository(repo, PACK, Access.of(PACK, user))
        for day in days:
            want = scoped.read_cases(lambda cases: duties.todo_lists(PACK, cases, user.id, user.agency, day, duties.WEEK))
            for _ in range(2):                                 # worked out, then remembered
                assert scoped.todo_lists(day, duties.WEEK) == want, (user.id, day)
            answers.setdefault(user.id, set()).add(repr(want))
    # Staff of an agency get lists that differ by day (the administrator, of no agency and who
    # sent nothing, has none): a day's answer is not the one kept for another day.
    assert all(len(answers[u.id]) > 1 for u in users if u.agency)
    # A rerun works out no shard; a save its own shard only, and the lists follow the save: the
    # staff member with the most referrals waiting for their agency's answer accepts one.
    user = max(users, key=lambda u: len(ScopedRepository(repo, PACK, Access.of(PACK, u)).todo_lists(days[0], duties.WEEK).inbox))
    scoped = ScopedRepository(repo, PACK, Access.of(PACK, user))
    some = scoped.todo_lists(days[0], duties.WEEK)
    assert some.items and some.inbox and some.names             # the store gives staff something to do
    calls: list = []
    real = duties.todo_lists
    monkeypatch.setattr(duties, "todo_lists", lambda cases, *a: calls.append(1) or real(cases, *a))
    before = scoped.todo_lists(days[0], duties.WEEK)
    assert calls == []
    case_id, referral = before.inbox[0]
    case = repo.get_case(case_id)
    answered = [{**r, "state": "accepted"} if r.get("id") == referral.get("id") else r for r in case["referrals"]]
    repo.save_case({**case, "referrals": answered}, expected_revision=case["revision"])
    after = scoped.todo_lists(days[0], duties.WEEK)
    assert len(calls) == 1
    assert (case_id, referral) not in after.inbox and len(after.inbox) == len(before.inbox) - 1
    assert after == scoped.read_cases(lambda cases: real(PACK, cases, user.id, user.agency, days[0], duties.WEEK))


def test_kept_agenda_equals_one_pass_and_follows_a_recorded_outcome(handed_over, monkeypatch):
    """The 会議 page's agenda from kept per-shard answers is, for each user and meeting, the agenda of
    one pass over every visible case, in its order; a rerun works out no shard again; a recorded
    outcome takes the case off the agenda, working out its shard only."""
    import datetime as dt

    from engine.casework import workflow
    repo = handed_over
    shown = 0
    for user in USERS:
        scoped = ScopedRepository(repo, PACK, Access.of(PACK, user))
        for meeting in PACK.meetings:
            want = scoped.read_cases(lambda cases: [c["id"] for c in workflow.agenda(PACK, cases, meeting.id)])
            for _ in range(2):                                 # worked out, then remembered
                rows = scoped.agenda(meeting.id)
                assert [r["id"] for r in rows] == want, (user.id, meeting.id)
            shown += len(want)
    assert shown                                               # the store has cases on agendas

    scoped = ScopedRepository(repo, PACK, Access.of(PACK, USERS[0]))
    meeting = max(PACK.meetings, key=lambda m: len(scoped.agenda(m.id))).id
    first = scoped.agenda(meeting)[0]
    case = repo.get_case(first["id"])
    assert first["status"] == case["status"] and first["plan"] == ("plan" in case)
    assert first["received_on"] == case["intake"]["received_on"]
    calls: list = []
    real = workflow.agenda_rows
    monkeypatch.setattr(workflow, "agenda_rows", lambda cases, *a: calls.append(1) or real(cases, *a))
    scoped.agenda(meeting)
    assert calls == []
    outcome = {"meeting": meeting, "held_on": dt.date.today().isoformat(), "outcome": "info_shared",
               "notes": "架空の協議"}
    form = PACK.forms["meeting_record"]
    outcome = {f.id: outcome[f.id] for f in form.fields if f.id in outcome}
    workflow.record_outcome(repo, PACK, first["id"], outcome, actor="u_admin", expected_revision=case["revision"])
    after = scoped.agenda(meeting)
    assert len(calls) == 1 and first["id"] not in [r["id"] for r in after]
