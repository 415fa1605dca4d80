"""Meeting dates: cadences from meetings.yaml, moves off holidays and the year-end closure,
on-demand 支援会議, and the iCal export."""
from __future__ import annotations

import datetime as dt
import doctest
import shutil
from collections import Counter

import jpholiday
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

import engine.casework.calendar
from engine.casework.calendar import (
    CLOSURE,
    ON_DEMAND_KEY,
    CalendarError,
    next_occurrence,
    occurrences,
    on_demand_occurrences,
    open_on_demand,
    previous_occurrence,
    to_ical,
)
from engine.errors import ConflictError, TsunaguError
from engine.pack import DEFAULT_PACK, load_pack
from storage import open_repository


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture
def repo(tmp_path):
    repository = open_repository(tmp_path / "data")
    yield repository
    repository.close()


def pack_with(tmp_path, **cadences):
    """A copy of the Hannan pack whose meetings get the given cadence / holiday_shift."""
    root = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, root, ignore=shutil.ignore_patterns("scenarios"))
    path = root / "meetings.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for m in doc["meetings"]:
        if m["id"] in cadences:
            m.update(cadences[m["id"]])
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_pack(root)


def of(occs, meeting_id):
    return [o for o in occs if o.meeting_id == meeting_id]


def test_doctests():
    assert doctest.testmod(engine.casework.calendar).failed == 0


def test_monthly_meeting_twelve_times_bimonthly_six_times_in_a_year(pack):
    occs = occurrences(pack, dt.date(2026, 4, 1), 12)
    counts = Counter(o.meeting_id for o in occs)
    assert counts["juso_kaigi"] == 12
    assert counts["chonai_renkei"] == counts["kusanone"] == counts["seikatsu_shien_kyogikai"] == 6
    assert {o.date.month for o in of(occs, "chonai_renkei")} == {1, 3, 5, 7, 9, 11}     # start_month: 5
    assert {o.date.month for o in of(occs, "kusanone")} == {2, 4, 6, 8, 10, 12}        # start_month: 4
    # 重層的支援会議: the 3rd Thursday (placeholder)
    assert all(o.date.weekday() == 3 and 15 <= o.date.day <= 21 for o in of(occs, "juso_kaigi"))


def test_on_demand_meeting_has_no_regular_sessions(pack):
    assert of(occurrences(pack, dt.date(2026, 1, 1), 24), "shien_kaigi") == []
    assert next_occurrence(pack, "shien_kaigi", dt.date(2026, 1, 1)) is None


def test_sorted_and_within_the_window(pack):
    start = dt.date(2026, 11, 20)
    occs = occurrences(pack, start, 12)
    assert [o.date for o in occs] == sorted(o.date for o in occs)
    assert all(start <= o.date < dt.date(2027, 11, 20) for o in occs)


def test_saturday_meeting_on_a_holiday_moves_to_the_next_open_day(pack):
    # 2029-08-11 is 山の日 and the 2nd Saturday of August: 草の根ネットワーク moves (later).
    (o,) = of(occurrences(pack, dt.date(2029, 8, 1), 1), "kusanone")
    assert o.original_date == dt.date(2029, 8, 11)
    assert o.date == dt.date(2029, 8, 13)          # Sunday is skipped, Monday is open
    assert o.shifted and o.reason == "山の日"
    assert "山の日のため 8月11日（土） から移動" == o.note()


@pytest.mark.parametrize("direction, expected", [("later", dt.date(2026, 11, 24)), ("earlier", dt.date(2026, 11, 20))])
def test_holiday_moves_per_holiday_shift(tmp_path, direction, expected):
    # The 4th Monday of November 2026 is 勤労感謝の日 (11/23).
    pack = pack_with(tmp_path, juso_kaigi={"cadence": {"kind": "monthly", "weekday": "monday", "week": 4},
                                           "holiday_shift": direction})
    (o,) = of(occurrences(pack, dt.date(2026, 11, 1), 1), "juso_kaigi")
    assert (o.original_date, o.date, o.shifted, o.reason) == (dt.date(2026, 11, 23), expected, True, "勤労感謝の日")


@pytest.mark.parametrize("direction, expected", [("later", dt.date(2027, 1, 4)), ("earlier", dt.date(2026, 12, 28))])
def test_year_end_closure_moves_out_of_12_29_to_1_3(tmp_path, direction, expected):
    # The 1st Friday of January 2027 is 1/1: closed (元日 and the year-end closure).
    pack = pack_with(tmp_path, chonai_renkei={"cadence": {"kind": "monthly", "weekday": "friday", "week": 1},
                                              "holiday_shift": direction})
    (o,) = [o for o in of(occurrences(pack, dt.date(2026, 12, 1), 3), "chonai_renkei") if o.original_date.month == 1]
    assert o.original_date == dt.date(2027, 1, 1)
    assert o.date == expected and o.shifted


def test_closure_day_that_is_no_holiday_also_moves(tmp_path):
    # 2026-12-29 (Tue) is no public holiday, but city hall is closed.
    pack = pack_with(tmp_path, juso_kaigi={"cadence": {"kind": "monthly", "weekday": "tuesday", "week": 5},
                                           "holiday_shift": "earlier"})
    (o,) = of(occurrences(pack, dt.date(2026, 12, 1), 1), "juso_kaigi")
    assert o.original_date == dt.date(2026, 12, 29)      # week 5 = the last Tuesday
    assert o.date == dt.date(2026, 12, 28) and o.reason == "年末年始の閉庁日"


def test_week_five_means_the_last_weekday_of_the_month(tmp_path):
    pack = pack_with(tmp_path, juso_kaigi={"cadence": {"kind": "monthly", "weekday": "thursday", "week": 5},
                                           "holiday_shift": "earlier"})
    occs = of(occurrences(pack, dt.date(2026, 1, 1), 12), "juso_kaigi")
    assert len(occs) == 12
    assert all((o.original_date + dt.timedelta(days=7)).month != o.original_date.month for o in occs)
    assert (occs[-1].original_date, occs[-1].date) == (dt.date(2026, 12, 31), dt.date(2026, 12, 28))


def test_a_session_belongs_to_the_window_by_the_day_it_is_held(tmp_path):
    # The last Thursday of 2026 (12/31) moves later to 2027-01-04: out of a calendar-year window.
    pack = pack_with(tmp_path, juso_kaigi={"cadence": {"kind": "monthly", "weekday": "thursday", "week": 5},
                                           "holiday_shift": "later"})
    assert len(of(occurrences(pack, dt.date(2026, 1, 1), 12), "juso_kaigi")) == 11
    assert of(occurrences(pack, dt.date(2027, 1, 1), 1), "juso_kaigi")[0].original_date == dt.date(2026, 12, 31)


@settings(max_examples=60, deadline=None)
@given(start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2040, 12, 31)))
def test_no_session_ever_on_a_holiday_or_in_the_closure(pack, start):
    for o in occurrences(pack, start, 12):
        assert not jpholiday.is_holiday(o.date), o
        assert (o.date.month, o.date.day) not in CLOSURE, o
        assert o.shifted == (o.date != o.original_date)
        # Weekends never move a meeting; a Saturday meeting stays on Saturday unless a holiday moved it.
        assert o.date.weekday() < 5 or (o.date == o.original_date)


def test_unknown_meeting_is_an_error_with_a_suggestion(pack, repo):
    with pytest.raises(TsunaguError, match="もしかして: juso_kaigi"):
        next_occurrence(pack, "juso_kaigj", dt.date(2026, 1, 1))
    with pytest.raises(CalendarError, match="meetings.yaml にありません"):
        open_on_demand(repo, pack, "no_such_meeting", dt.date(2026, 12, 3), "staff")


def test_ical_round_trips(pack):
    occs = occurrences(pack, dt.date(2029, 8, 1), 12)
    cal = Calendar.from_ical(to_ical(occs, pack))
    assert str(cal["VERSION"]) == "2.0" and cal.get("PRODID")
    assert str(cal["X-WR-CALNAME"]) == "つなぐ 会議予定"
    events = cal.walk("VEVENT")
    assert len(events) == len(occs)
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    assert uids[0] == f"{occs[0].meeting_id}-{occs[0].date.isoformat()}@tsunagu"
    assert {str(e["SUMMARY"]) for e in events} == {o.label for o in occs}
    assert "重層的支援会議" in {str(e["SUMMARY"]) for e in events}
    first = events[0]
    assert first.decoded("DTSTART") == occs[0].date
    assert first.decoded("DTEND") == occs[0].date + dt.timedelta(days=1)
    moved = next(e for e in events if str(e["UID"]).startswith("kusanone-2029-08-13"))
    assert "山の日のため" in str(moved["DESCRIPTION"])


def test_ical_marks_the_confidential_meeting(pack, repo):
    open_on_demand(repo, pack, "shien_kaigi", dt.date(2026, 12, 3), "staff")
    cal = Calendar.from_ical(to_ical(on_demand_occurrences(repo), pack))
    (event,) = cal.walk("VEVENT")
    assert str(event["SUMMARY"]) == "支援会議" and str(event["CLASS"]) == "CONFIDENTIAL"


def test_open_on_demand_stores_and_lists(pack, repo):
    assert on_demand_occurrences(repo) == []
    entry = open_on_demand(repo, pack, "shien_kaigi", dt.date(2026, 12, 10), "staff")
    assert entry["meeting_id"] == "shien_kaigi" and entry["date"] == "2026-12-10"
    open_on_demand(repo, pack, "shien_kaigi", dt.date(2026, 12, 3), "staff")
    again = open_on_demand(repo, pack, "shien_kaigi", dt.date(2026, 12, 10), "other")     # a double click
    assert again == entry
    assert [o.date for o in on_demand_occurrences(repo)] == [dt.date(2026, 12, 3), dt.date(2026, 12, 10)]
    assert [o.date for o in on_demand_occurrences(repo, since=dt.date(2026, 12, 4))] == [dt.date(2026, 12, 10)]
    assert len(repo.get_meta(ON_DEMAND_KEY)) == 2
    assert next_occurrence(pack, "shien_kaigi", dt.date(2026, 12, 4), on_demand_occurrences(repo)).date == dt.date(2026, 12, 10)
    assert previous_occurrence(pack, "shien_kaigi", dt.date(2026, 12, 4), on_demand_occurrences(repo)).date == dt.date(2026, 12, 3)


def test_regular_meeting_cannot_be_opened_on_demand(pack, repo):
    with pytest.raises(CalendarError, match="定例の会議"):
        open_on_demand(repo, pack, "juso_kaigi", dt.date(2026, 12, 3), "staff")


class Racing:
    """A repository where other staff open a session just before each of our saves."""

    def __init__(self, repo, pack, races: int):
        self.repo, self.pack, self.races = repo, pack, races

    def get_meta(self, key, default=None):
        return self.repo.get_meta(key, default)

    def set_meta(self, key, value, expected):
        if self.races:
            self.races -= 1
            open_on_demand(self.repo, self.pack, "shien_kaigi", dt.date(2026, 12, 1 + self.races), "other")
        self.repo.set_meta(key, value, expected=expected)


def test_open_on_demand_retries_once_after_a_concurrent_change(pack, repo):
    open_on_demand(Racing(repo, pack, races=1), pack, "shien_kaigi", dt.date(2026, 12, 24), "staff")
    assert [o.date.day for o in on_demand_occurrences(repo)] == [1, 24]      # neither is lost


def test_open_on_demand_gives_up_after_two_conflicts(pack, repo):
    with pytest.raises(ConflictError):
        open_on_demand(Racing(repo, pack, races=2), pack, "shien_kaigi", dt.date(2026, 12, 24), "staff")
    assert [o.date.day for o in on_demand_occurrences(repo)] == [1, 2]


def test_previous_occurrence_is_the_default_record_date(pack):
    assert previous_occurrence(pack, "juso_kaigi", dt.date(2026, 11, 20)).date == dt.date(2026, 11, 19)
    assert previous_occurrence(pack, "juso_kaigi", dt.date(2026, 11, 19)).date == dt.date(2026, 11, 19)
    assert previous_occurrence(pack, "juso_kaigi", dt.date(2026, 11, 18)).date == dt.date(2026, 10, 15)
    assert next_occurrence(pack, "juso_kaigi", dt.date(2026, 11, 20)).date == dt.date(2026, 12, 17)


def test_a_meeting_held_twice_a_month_has_both_sessions():
    """weeks: [2, 4] (ななうみ市の重層的支援会議): the 2nd and 4th Wednesday, 24 a year."""
    nanaumi = load_pack(DEFAULT_PACK.parent / "nanaumi")
    held = [o for o in occurrences(nanaumi, dt.date(2026, 4, 1), 12) if o.meeting_id == "juso_shien_kaigi"]
    assert len(held) == 24
    assert Counter((o.original_date.year, o.original_date.month) for o in held) == Counter(
        {(y, m): 2 for y, m in [(2026, m) for m in range(4, 13)] + [(2027, m) for m in range(1, 4)]})
    assert all(o.original_date.weekday() == 2 and (o.original_date.day - 1) // 7 + 1 in (2, 4) for o in held)


def test_week_and_weeks_together_is_refused():
    from engine.pack.meetings import cadence_issues
    issues = cadence_issues({"kind": "monthly", "weekday": "monday", "week": 1, "weeks": [1, 3]})
    assert [key for key, _, _ in issues] == ["weeks"]
    too_many = cadence_issues({"kind": "monthly", "per_year": 30, "weekday": "monday", "weeks": [1, 3]})
    assert too_many[0][1] == "毎月（月2回）の会議は年24回までです（per_year: 30）"
