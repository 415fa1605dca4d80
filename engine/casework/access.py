"""Who may see which case, enforced where the data is read (not only hidden in pages).

- cases: all / own_agency / none, from roles.yaml; 'own agency' = the case was routed to
  the user's agency, or taken (created) by it.
- A case routed to a confidential meeting (支援会議) without consent is visible only to
  that meeting's members (roles with ``confidential_meetings``) and to whoever took it
  (社会福祉法 第106条の6); everyone else gets only counts.
- Personal fields (those marked ``personal: true`` in the intake form) are masked in
  lists for users who do not own the case.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping

from storage import pg_queries
from storage.audit import PendingEntry
from storage.base import UNSET, Repository
from storage.users import User

from engine.casework.caselist import as_mapping, ids_of, is_mapping
from engine.errors import TsunaguError
from engine.pack.model import Pack

# How a case's agencies and meetings are read is shared with the PostgreSQL store's columns.
from storage.case_fields import MASK, concerns_agency, routed_to  # noqa: E402


class AccessError(TsunaguError):
    """The user may not see or change this."""


@dataclass(frozen=True)
class Access:
    user: User
    scope: str                   # all / own_agency / none
    confidential: bool
    permissions: frozenset[str]
    training_only: bool

    @classmethod
    def of(cls, pack: Pack, user: User) -> "Access":
        roles = [r for r in pack.choices("roles") if r.id in user.roles]
        scopes = {r.get("cases") for r in roles}
        scope = "all" if "all" in scopes else "own_agency" if "own_agency" in scopes else "none"
        return cls(user, scope, any(r.get("confidential_meetings") for r in roles),
                   frozenset(p for r in roles for p in r.get("permissions") or ()),
                   bool(roles) and all(r.get("training_only") for r in roles))

    def can(self, permission: str) -> bool:
        return permission in self.permissions


def everyone_consented(pack: Pack, intake: Mapping) -> bool:
    """The person and every household member with a concern said yes (consent is per person).

    The old contract's top-level ``consent`` is the person's own.
    """
    m = pack.members
    intake = as_mapping(intake)              # an odd record's parts are read as missing (as in SQL)
    person = as_mapping(intake.get(m.self_group))
    rows = intake.get(m.repeat)
    people = [person.get("consent", intake.get("consent"))]
    people += [row.get("consent") for row in (rows if isinstance(rows, list) else ())
               if is_mapping(row) and row.get("concerns")]
    return all(c == "yes" for c in people)


def confidential(pack: Pack, case: Mapping) -> bool:
    """Routed to a confidential meeting while someone in it has not consented.

    Recommended or confirmed: a person removing the 支援会議 does not make the case public.
    """
    secret = pack.secret_meetings
    return bool(secret) and routed_to(case, secret) and not everyone_consented(pack, as_mapping(case.get("intake")))


def took_it(access: Access, case: Mapping) -> bool:
    user = access.user
    return case.get("created_by") == user.id or (
        user.agency is not None and as_mapping(case.get("intake")).get("receiving_agency") == user.agency)


def owns(access: Access, case: Mapping) -> bool:
    if access.scope == "all" or took_it(access, case):
        return True
    return access.user.agency is not None and concerns_agency(case, access.user.agency)


def can_view(pack: Pack, access: Access, case: Mapping) -> bool:
    """A confidential case (``confidential``) is seen by those who took it and by members of
    支援会議 (``access.confidential``); any other case by whoever ``owns`` it.

    Worked out in the order that reads least of a case: the case list asks it of every case.
    """
    if access.scope == "none":
        return False
    if access.scope == "all" and access.confidential:
        return True             # every case, confidential or not: nothing of the case to read
    if took_it(access, case):
        return True             # who took the case sees it, confidential or not
    routed = access.scope == "all" or (access.user.agency is not None and concerns_agency(case, access.user.agency))
    if access.confidential:
        return routed or confidential(pack, case)
    return routed and not confidential(pack, case)


def masked(pack: Pack, access: Access, case: Mapping) -> dict:
    """``case`` with its personal fields hidden unless the user owns it: every field the form marks
    personal, at the top, in a group and in each row of a repeated group (世帯員).

    Only what is masked is copied (the case, its intake, each group or row with a personal field);
    the rest is shared with ``case``. Lists and views read the cases they are handed and change
    none (an owned case is handed over as it is stored): deep-copying 8,000 cases made a
    支援会議 member's 今日やること take 1.4 s on every rerun.
    """
    out = dict(case)
    if owns(access, case):
        return out
    intake = case.get("intake")
    if not is_mapping(intake):
        if intake not in (None, {}):
            out["intake"] = MASK             # an odd record's intake (text, a list): whatever it says is hidden
        return out
    intake = out["intake"] = dict(intake)
    for f in pack.intake.fields:
        if f.type in ("group", "repeat"):
            personal = frozenset(c.id for c in f.fields if c.personal)
            value = intake.get(f.id)
            if not personal or value is None:
                continue
            if f.type == "repeat" and isinstance(value, list):
                intake[f.id] = [_masked_part(row, personal) for row in value]
            else:
                intake[f.id] = _masked_part(value, personal)
        elif f.personal and f.id in intake:
            intake[f.id] = MASK
    return out


def _masked_part(part: Any, personal: frozenset[str]) -> Any:
    """A group's value or one row of a repeated group with the ``personal`` fields hidden; one that
    is not a mapping (text: an odd record) is hidden whole, as it may hold what is personal."""
    if not is_mapping(part):
        return MASK
    if personal.isdisjoint(part):
        return part
    return {k: MASK if k in personal else v for k, v in part.items()}


#: A write to a case that does not exist and to one the user may not see get the same answer.
UNREACHABLE = "このケースは見つからないか、変更する権限がありません。ケース一覧から開き直してください。"


class ScopedRepository(Repository):
    """The repository as one user may use it: reads filtered and masked, writes checked,
    views and changes written to the audit log (ids only).

    It implements the whole Repository interface itself (no pass-through): ``POLICY`` says,
    for every method, what is checked and what is logged, and tests/test_access.py fails
    when the interface grows a method this class does not cover.
    """

    #: method -> (what is checked, what the audit log gets)
    POLICY = {
        "get_case": ("visible to the user", "case_view (once per session) / case_view_denied"),
        "list_cases": ("only visible cases, masked unless owned", "none: lists show no more than allowed"),
        "read_cases": ("only visible cases, masked unless owned", "none: lists show no more than allowed"),
        "count_cases": ("only visible cases", "none"),
        "save_case": ("not a trainee; an existing case must be visible; hand-over changes need their "
                      "roles.yaml permission (handoff_actions)", "case_write + routing_confirm / referral_* / owner_reassign"),
        "save_cases_bulk": ("not a trainee; every existing case visible; hand-over changes as save_case; "
                            "events for a case of the call or a visible one",
                            "case_write_bulk (count) + one <action>_bulk (count) per kind of hand-over change "
                            "+ event_add_bulk (count) with events, in the same change"),
        "delete_case": ("manage_users (administrators) and visible", "case_delete"),
        "save_case_with_events": ("as save_case (hand-over changes too)",
                                  "case_write with the event types, in the same change; then as save_case"),
        "add_event": ("not a trainee; case visible, or just written by this user (once)", "event_add"),
        "add_events_bulk": ("not a trainee; every case visible, or just written by this user (once)",
                            "event_add_bulk (count), in the same change"),
        "events": ("case visible", "through get_case"),
        "save_version": ("publish_config", "config_version_save"),
        "get_version": ("logged in (configuration, no case data)", "none"),
        "list_versions": ("logged in (configuration, no case data)", "none"),
        "get_meta": ("logged in (configuration and settings, no case data)", "none"),
        "set_meta": ("not a trainee; publish_config for the live version and the draft", "config_publish / setting_write"),
        "close": ("never closes the shared store", "none"),
    }

    def __init__(self, repo: Any, pack: Pack, access: Access, audit: Any | None = None, viewed: set | None = None):
        if audit is not None and hasattr(repo, "check_audit"):
            repo.check_audit(audit)              # PostgreSQL: the audit log must commit with the changes
        self._repo, self._pack, self.access, self._audit = repo, pack, access, audit
        # Case ids whose view is already logged in this session: a page redrawn ten times
        # is one view in the audit log, not ten.
        self._viewed = viewed
        # Cases this user just wrote: the events of that write follow it even when the write
        # took the case out of their sight (staff removing their own agency from the routing).
        self._written: set[str] = set()

    def _log(self, action: str, **fields: Any) -> None:
        if self._audit is not None:
            self._audit.append(self.access.user.id, action, **fields)

    def _visible(self, case: Mapping | None) -> bool:
        return case is not None and can_view(self._pack, self.access, case)

    def _no_trainee(self) -> None:
        if self.access.training_only:
            raise AccessError("研修生のアカウントでは本番のデータを変更できません。研修の「練習の相談受付」を使ってください。")

    def _writable(self, case_id: str) -> None:
        """Refuse a change to a case that exists and the user may not see."""
        existing = self._repo.get_case(case_id)
        if existing is None or not self._visible(existing):
            if existing is not None:
                self._log("case_write_denied", case_id=case_id)
            # One message for both: which case numbers exist is not for everyone to learn.
            raise AccessError(UNREACHABLE)

    # -- reads -----------------------------------------------------------------------------
    def get_case(self, case_id: str) -> dict | None:
        case = self._repo.get_case(case_id)
        if case is None:
            return None
        if not self._visible(case):
            self._log("case_view_denied", case_id=case_id)
            raise AccessError("このケースを見る権限がありません。必要なら、ケースを受け付けた機関か事業の担当課に相談してください。")
        if self._viewed is None or case_id not in self._viewed:
            self._log("case_view", case_id=case_id)
            if self._viewed is not None:
                self._viewed.add(case_id)
        return case

    def reachable_case(self, case_id: str) -> dict | None:
        """``get_case``, with None both for a case that does not exist and for one the user may not
        see (the refusal is still audited): pages answer both with the same words, so a refusal
        does not confirm that a case number exists."""
        try:
            return self.get_case(case_id)
        except AccessError:
            return None

    def read_cases(self, view: Callable[[list[dict]], Any]) -> Any:
        return self._repo.read_cases(lambda cases: view(self._seen(cases)))

    def _seen(self, cases: list[dict]) -> list[dict]:
        """The cases this user may see, as lists show them: masked unless owned."""
        return [c if owns(self.access, c) else masked(self._pack, self.access, c) for c in cases if self._visible(c)]

    def _per_shard(self, view: Callable[[list[dict]], Any], name: str, *args: Hashable) -> list:
        """``view`` of the cases this user may see (as ``read_cases`` shows them), one answer per shard
        where the store keeps each shard's answer until the shard changes (TinyDB), else one answer.
        ``name`` and ``args`` are everything the answer depends on besides the cases and the user."""
        return self._per_shard_unfiltered(lambda cases: view(self._seen(cases)), (name, args))

    def _per_shard_unfiltered(self, view: Callable[[list[dict]], Any], key: Hashable, listed: bool = False,
                              then: Callable[[list], Any] | None = None) -> Any:
        """``_per_shard`` over every stored case, for a view that filters them itself; ``listed``:
        the view reads only what the case list reads (storage/list_index.py); ``then``: called with
        the answers while the store still holds its read lock (TinyDBRepository.read_shards)."""
        if hasattr(self._repo, "read_shards"):
            return self._repo.read_shards(view, (key, self.access, self._pack.version), listed=listed, then=then)
        if then is not None:
            return self._repo.read_cases(lambda cases: then([view(cases)]))
        return [self._repo.read_cases(view)]

    def _visible_parts(self, then: Callable[[list[tuple[list[tuple[dict, bool]], int]]], Any]) -> Any:
        """``then`` of, per shard, ([(case, owned)] of the cases this user may see, how many cases the
        shard holds): each shard's answer kept until it changes, so a rerun of the case list checks
        no case's access again; a case is its list projection while its shard is not in memory."""
        def view(cases: list[dict]) -> tuple[list[tuple[dict, bool]], int]:
            return [(c, owns(self.access, c)) for c in cases if self._visible(c)], len(cases)
        return self._per_shard_unfiltered(view, "visible", listed=True, then=then)

    def list_cases(self) -> list[dict]:
        return self.read_cases(lambda cases: [copy.deepcopy(c) for c in cases])

    def counts(self) -> tuple[int, int]:
        """(cases this user may see, cases they may not): one pass, nothing copied or masked."""
        if hasattr(self._repo, "sql"):                 # PostgreSQL counts them itself
            with self._repo.sql() as conn:
                return pg_queries.visibility_counts(conn, self._pack, self.access)

        def count(parts: list[tuple[list, int]]) -> tuple[int, int]:
            seen = sum(len(visible) for visible, _ in parts)
            return seen, sum(total for _, total in parts) - seen
        return self._visible_parts(count)           # each shard's cases checked once until it changes

    def count_cases(self) -> int:
        return self.counts()[0]

    # -- the case list and the dashboard: in SQL on PostgreSQL, in Python over the files ----------
    def case_page(self, query: Any, duties: Any = None) -> Any:
        """One page of the case list (caselist.Page) of the cases this user may see, masked as in lists;
        ``duties`` (duties.DutyFilter) adds the 期限 and 「自分」 filters. From the embedded store a
        row may be the case's list projection (storage/list_index.project: what the list shows and
        filters by) while its shard has not been read since the start."""
        from .caselist import Page, run_query
        if hasattr(self._repo, "sql"):
            with self._repo.sql() as conn:
                rows, total, page, pages = pg_queries.case_page(conn, query, self._pack, self.access, duties)
            return Page(self._shown(rows), total, page, pages, query.per_page)
        user = self.access.user

        def run(parts: list[tuple[list[tuple[dict, bool]], int]]) -> Any:
            cases = [c if owned else masked(self._pack, self.access, c) for visible, _ in parts for c, owned in visible]
            if duties:
                cases = [c for c in cases if duties.keeps(self._pack, c, user.id, user.agency)]
            found = run_query(cases, query, self._pack)
            # Copied here, under the read lock: a save edits the stored dicts in place.
            return Page([copy.deepcopy(c) for c in found.rows], found.total, found.page, found.pages, found.per_page)
        return self._visible_parts(run)

    def read_todo(self, view: Callable[[list[dict]], Any], today: Any, days: int) -> Any:
        """``view`` over the visible cases that can hold something for 今日やること within ``days``
        (duties.todo, referrals.inbox, referrals.sent keep the same from them as from every case):
        on PostgreSQL only those are read (pg_queries.todo_bodies), from files every case."""
        from .duties import DutyFilter
        return self._read_picked(view, pg_queries.todo_bodies, DutyFilter(today, due_within=days, mine=True))

    def todo_lists(self, today: Any, days: int) -> Any:
        """今日やること (duties.TodoLists) over the visible cases (masked unless owned): on PostgreSQL
        from the cases it picks (``read_todo``), from files one answer per shard, kept until the
        shard changes, so a rerun of the page reads no case (a 支援会議 member's took 0.4 s a rerun
        at 20,000 cases)."""
        from .duties import merged_todo, todo_lists
        user = self.access.user

        def view(cases: list[dict]) -> Any:
            return todo_lists(self._pack, cases, user.id, user.agency, today, days)
        if hasattr(self._repo, "sql"):
            return self.read_todo(view, today, days)
        return merged_todo(self._per_shard(view, "todo", today, days))

    def agenda(self, meeting_id: str) -> list[dict]:
        """The 会議 page's agenda (workflow.agenda_rows) over the visible cases: on PostgreSQL from the
        cases routed to the meeting (pg_queries.agenda_bodies), from files one answer per shard, kept
        until the shard changes, so a rerun of the page reads no case."""
        from .workflow import agenda_rows, merged_agenda

        def view(cases: list[dict]) -> list[dict]:
            return agenda_rows(self._pack, cases, meeting_id)
        if hasattr(self._repo, "sql"):
            return self._read_picked(view, pg_queries.agenda_bodies, meeting_id)
        return merged_agenda(self._per_shard(view, "agenda", meeting_id))

    def read_handoffs(self, view: Callable[[list[dict]], Any], since: str) -> Any:
        """``view`` over the visible cases with a referral pending or a routing confirmed or changed
        since ``since`` (what the 受理待ち・期限切れのつなぎ counts and overrides.count can count):
        on PostgreSQL only those are read (pg_queries.handoff_bodies), from files every case."""
        return self._read_picked(view, pg_queries.handoff_bodies, since)

    def handoff_counts(self, today: Any) -> tuple[int, int, Any]:
        """(referrals waiting for an answer, those past their due day, overrides.count) over the
        visible cases, as 状況 > ダッシュボード shows them: from the cases PostgreSQL picks, or from
        files one answer per shard, kept until the shard changes (a rerun reads no case)."""
        from . import overrides, referrals

        def view(cases: list[dict]) -> tuple[int, int, Any]:
            return (sum(r.get("state") == "pending" for c in cases for r in referrals.referrals_of(c)),
                    referrals.overdue_count(cases, today), overrides.count(cases, today))
        since = overrides.window_start(today)
        if hasattr(self._repo, "sql"):
            return self.read_handoffs(view, since)
        parts = self._per_shard(view, "handoffs", today)
        return (sum(p[0] for p in parts), sum(p[1] for p in parts), overrides.merged([p[2] for p in parts], since))

    def read_for_impact(self, view: Callable[[list[dict]], Any]) -> Any:
        """``view`` over the visible cases as the impact preview reads them (id, config_version,
        intake, the stored decision's ids, priority and fired rules; masked unless owned): on
        PostgreSQL from small columns (pg_queries.impact_inputs), from files the whole cases."""
        return self._read_picked(view, pg_queries.impact_inputs)

    def _read_picked(self, view: Callable[[list[dict]], Any], query: Callable[..., list], *args: Any) -> Any:
        """``view`` over the visible cases ``query`` (a pg_queries function) picks on PostgreSQL
        (masked unless owned), or over every visible case from files."""
        if not hasattr(self._repo, "sql"):
            return self.read_cases(view)
        with self._repo.sql() as conn:
            rows = query(conn, self._pack, self.access, *args)
        return view(self._shown(rows))

    def _shown(self, rows: list[tuple[dict, bool]]) -> list[dict]:
        """(case, owned) rows as this user may see them: masked unless owned."""
        return [case if owned else masked(self._pack, self.access, case) for case, owned in rows]

    def fiscal_years(self) -> list[int]:
        """The 年度 the visible cases were received in, newest first."""
        from . import stats
        if hasattr(self._repo, "sql"):
            with self._repo.sql() as conn:
                months = pg_queries.received_months(conn, self._pack, self.access)
            # fiscal_year reads only the year and the month: the month string stands for the day.
            return stats.fiscal_years({"intake": {"received_on": m}} for m in months if m)
        return sorted(set().union(*self._per_shard(stats.fiscal_years, "fiscal_years")), reverse=True)

    def dashboard(self, date_from: str | None = None, date_to: str | None = None) -> tuple[Any, dict]:
        """(stats.Report, stats.counts) over the visible cases for the period."""
        from . import stats
        if hasattr(self._repo, "sql"):
            with self._repo.sql() as conn:
                numbers, counted = pg_queries.dashboard(conn, self._pack, self.access, date_from, date_to,
                                                        stats.pack_figures(self._pack), list(stats.DIMENSIONS))
            return stats.Report(**numbers), counted
        figures = stats.pack_figures(self._pack)
        return stats.summed(self._per_shard(lambda cases: stats.tally(cases, date_from, date_to, figures),
                                            "dashboard", date_from, date_to), figures)

    def hidden_count(self) -> int:
        """Cases this user may not see: shown only as a number."""
        return self.counts()[1]

    def events(self, case_id: str) -> list[dict]:
        self.get_case(case_id)
        return self._repo.events(case_id)

    # -- case writes -----------------------------------------------------------------------
    def _prepare(self, case: dict) -> tuple[dict, list[tuple[str, dict]]]:
        """The case as this user may save it (checked, and stamped with who took it when new)
        and the audit entries of the hand-over changes it makes (:func:`handoff_actions`)."""
        existing = self._repo.get_case(case["id"]) if case.get("id") else None
        if existing is not None and not self._visible(existing):
            self._log("case_write_denied", case_id=case["id"])
            raise AccessError(UNREACHABLE)
        if existing is None:
            case = {**case, "created_by": self.access.user.id}
            if self.access.user.agency and not (case.get("intake") or {}).get("receiving_agency"):
                case["intake"] = {**(case.get("intake") or {}), "receiving_agency": self.access.user.agency}
        return case, handoff_actions(self.access, existing or {}, case)

    def save_case(self, case: dict, expected_revision: int | None = None) -> dict:
        self._no_trainee()
        prepared, actions = self._prepare(case)
        with self.atomic():                       # the case and its audit entries: one change on PostgreSQL
            stored = self._repo.save_case(prepared, expected_revision=expected_revision)
            self._log("case_write", case_id=stored["id"])
            for action, fields in actions:
                self._log(action, case_id=stored["id"], **fields)
        self._written.add(stored["id"])
        return stored

    def save_case_with_events(self, case: dict, events: list[dict], expected_revision: int | None = None,
                              audit: Any = None) -> dict:
        """``audit`` is ignored: the entry is this user's ``case_write``, written in the same change
        (the events come with the write, so they follow it even out of the user's sight)."""
        self._no_trainee()
        prepared, actions = self._prepare(case)
        entry = None if self._audit is None else PendingEntry(
            self._audit, self.access.user.id, "case_write", {"detail": ",".join(str(e.get("type", "")) for e in events)[:40]})
        with self.atomic():
            stored = self._repo.save_case_with_events(prepared, events, expected_revision=expected_revision, audit=entry)
            for action, fields in actions:
                self._log(action, case_id=stored["id"], **fields)
        return stored

    def save_cases_bulk(self, cases: list[dict], events: list = ()) -> list[dict]:
        """The cases, ``events`` for them (or for cases the user may change) and the audit
        entries, as one change: a crash leaves all of it or none."""
        self._no_trainee()
        prepared = [self._prepare(c) for c in cases]
        given = {c.get("id") for c, _ in prepared}
        for case_id in {c for c, _ in events} - given:
            self._writable(case_id)
        # A bulk write is one act: one entry for the write, one per kind of hand-over change
        # (counted), one for the events.
        counted = sorted(Counter(a for _, actions in prepared for a, _ in actions).items())
        entries = [("case_write_bulk", len(cases)), *((f"{action}_bulk", n) for action, n in counted)]
        if events:
            entries.append(("event_add_bulk", len(events)))
        with self.atomic():
            return self._repo.save_cases_bulk([c for c, _ in prepared], events, audit=self._entries(entries))

    def _entries(self, counted: list[tuple[str, int]]) -> list[PendingEntry]:
        """Audit entries ``(action, count)`` by this user, for a store to write with its change."""
        if self._audit is None:
            return []
        return [PendingEntry(self._audit, self.access.user.id, action, {"count": count}) for action, count in counted]

    def delete_case(self, case_id: str) -> bool:
        self._no_trainee()
        if not self.access.can("manage_users"):
            raise AccessError("ケースを削除する権限がありません（管理者だけが削除できます）。")
        if self._repo.get_case(case_id) is None:
            return False
        self._writable(case_id)
        with self.atomic():
            deleted = self._repo.delete_case(case_id)
            self._log("case_delete", case_id=case_id)
        return deleted

    def add_event(self, case_id: str, event: dict) -> dict:
        self._no_trainee()
        if case_id in self._written:
            self._written.discard(case_id)
        else:
            self._writable(case_id)
        with self.atomic():
            stored = self._repo.add_event(case_id, event)
            self._log("event_add", case_id=case_id, detail=str(event.get("type", ""))[:40])
        return stored

    def add_events_bulk(self, events: list) -> int:
        self._no_trainee()
        # The events of a write this user just made follow it even when that write took the
        # case out of their sight (staff removing their own agency from the routing): once.
        for case_id in {c for c, _ in events} - self._written:
            self._writable(case_id)
        self._written -= {c for c, _ in events}
        with self.atomic():
            return self._repo.add_events_bulk(events, audit=self._entries([("event_add_bulk", len(events))]))

    # -- configuration and settings --------------------------------------------------------
    def save_version(self, version: dict) -> dict:
        if not self.access.can("publish_config"):
            raise AccessError("設定の版を保存する権限がありません。管理者に依頼してください。")
        with self.atomic():
            stored = self._repo.save_version(version)
            self._log("config_version_save", version=str(stored.get("id")))
        return stored

    def get_version(self, version_id: str) -> dict | None:
        return self._repo.get_version(version_id)

    def list_versions(self) -> list[dict]:
        return self._repo.list_versions()

    def get_meta(self, key: str, default: Any = None) -> Any:
        return self._repo.get_meta(key, default)

    def set_meta(self, key: str, value: Any, expected: Any = UNSET) -> None:
        # Publishing or rolling back the configuration flips one meta value: audit it here,
        # so every way of publishing is recorded, as part of the same change.
        from engine.changes.versions import DRAFT_KEY, LIVE_KEY
        self._no_trainee()
        if key in (LIVE_KEY, DRAFT_KEY) and not self.access.can("publish_config"):
            raise AccessError("設定を変更・公開する権限がありません。管理者に依頼してください。")
        if key == LIVE_KEY and value:
            record = self._repo.get_version(value["live"]) or {}
            action = "config_rollback" if record.get("kind") == "rollback" else "config_publish"
            fields = {"version": value["live"]}
        else:
            action, fields = "setting_write", {"target": key}
        # The value and its entry land together: a version never goes live unrecorded.
        entry = None if self._audit is None else PendingEntry(self._audit, self.access.user.id, action, fields)
        self._repo.set_meta(key, value, expected=expected, audit=entry)

    def atomic(self) -> Any:
        """``with scoped.atomic():`` the writes inside (cases, events, their audit entries) are one
        transaction where the store has them (PostgreSQL); see storage.one_change."""
        from storage import one_change
        return one_change(self._repo)

    def close(self) -> None:
        """Nothing: the store is shared by every session; its owner closes it."""

    def export(self, what: str) -> None:
        if not self.access.can("export"):
            raise AccessError("CSV を出力する権限がありません。")
        self._log("export", target=what)


# The hand-over (engine/casework/handoff.py) writes through save_case like every change;
# what it may change is read off the record itself, so no path around this check exists.
_NEEDS = {"confirm": "confirm_routing", "override": "override_routing", "answer": "accept_referral",
          "reassign": "reassign_owner"}
_DENIED = {
    "confirm_routing": "振り分けを確定する権限がありません。",
    "override_routing": "推薦された振り分けを変える（外す・加える）権限がありません。推薦どおりに確定するか、すべてのケースを担当する課に相談してください。",
    "accept_referral": "つなぎを受理・返送する権限がありません。",
    "reassign_owner": "主担当を変える権限がありません。すべてのケースを担当する課に依頼してください。",
}


def _refs(case: Mapping) -> dict[str, Mapping]:
    refs = case.get("referrals")
    return {r.get("id"): r for r in refs if isinstance(r, Mapping)} if isinstance(refs, list) else {}


def handoff_actions(access: Access, before: Mapping, after: Mapping) -> list[tuple[str, dict]]:
    """Audit entries for the hand-over changes from ``before`` to ``after``; AccessError when the
    user's roles (roles.yaml permissions) do not allow one of them.

    - a new or changed confirmed routing needs ``confirm_routing``, and ``override_routing``
      when it adds a reason for differing from the recommendation;
    - a referral answered (pending → accepted/returned) needs ``accept_referral`` and must be
      to the user's own agency;
    - changing an existing 主担当 needs ``reassign_owner``.
    """
    out: list[tuple[str, dict]] = []

    def need(what: str) -> None:
        permission = _NEEDS[what]
        if not access.can(permission):
            raise AccessError(_DENIED[permission])

    old_conf, new_conf = as_mapping(before.get("confirmed")), as_mapping(after.get("confirmed"))
    if new_conf != old_conf:
        need("confirm")
        old_changes = [c for c in old_conf.get("changes") or ()]
        added = [c for c in new_conf.get("changes") or () if c not in old_changes]
        if added:
            need("override")
        out.append(("routing_confirm", {"count": len(added)}))
    old_refs = _refs(before)
    for ref_id, ref in _refs(after).items():
        was = old_refs.get(ref_id)
        if was is None or was.get("state") == ref.get("state"):
            continue
        need("answer")
        if access.user.agency is None or access.user.agency != ref.get("agency"):
            raise AccessError("このつなぎは他の機関あてです。受理・返送できるのは、つないだ先の機関の職員だけです。")
        out.append((f"referral_{ref.get('state')}", {"target": ref.get("agency"), "detail": ref_id}))
    old_owner, new_owner = as_mapping(before.get("owner")), as_mapping(after.get("owner"))
    if old_owner and new_owner != old_owner:
        need("reassign")
        out.append(("owner_reassign", {"target": new_owner.get("agency")}))
    return out
