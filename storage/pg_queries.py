"""The case list, the dashboard's counts and who-may-see-what, as SQL on PostgreSQL.

The same questions engine/caselist.py, engine/stats.py and engine/access.py answer in
Python over every case, answered by the database from the cases table's columns: only
one page of case bodies, or a few numbers, come back. tests/test_pg_queries.py checks
every answer against the Python one on the same cases.
"""
from __future__ import annotations

import json
import math
from typing import Any, Mapping

# -- who may see a case (engine/access.py: confidential, took_it, owns, can_view) -------------------
# everyone_consented: the person's consent (the old contract's top-level one when the person has
# none) and that of every household member with a concern is "yes": read from the small
# ``consents`` column (case_fields.consent_marks), never from the case body.
_CONSENTED = (
    "(CASE WHEN consents ? ('g:' || %(person_key)s::text) THEN consents -> ('g:' || %(person_key)s::text) "
    "ELSE consents -> 'top' END) = '\"yes\"'::jsonb "
    "AND COALESCE(consents -> ('l:' || %(members_key)s::text), 'true'::jsonb) = 'true'::jsonb")
_CONFIDENTIAL = f"(routed_meetings && %(secret)s::text[] AND NOT ({_CONSENTED}))"


# The predicates are written for the one user asking, not as one expression with the user's
# scope as parameters: the planner does not fold ``CASE WHEN x THEN true ELSE true END``, and
# evaluating the consent check on every row made an administrator's dashboard scan 5 times slower.
def _took(access: Any) -> str:
    """engine/casework/access.took_it."""
    if access.user.agency is None:
        return "(created_by = %(uid)s)"
    return "(created_by = %(uid)s OR receiving_agency = %(agency)s)"


def owns_sql(access: Any) -> str:
    """engine/casework/access.owns, as a predicate on a cases row."""
    if access.scope == "all":
        return "TRUE"
    if access.user.agency is None:
        return _took(access)
    return "(created_by = %(uid)s OR receiving_agency = %(agency)s OR %(agency)s = ANY(seen_by))"


def visible_sql(pack: Any, access: Any) -> str:
    """engine/casework/access.can_view, as a predicate on a cases row."""
    if access.scope == "none":
        return "FALSE"
    owns = owns_sql(access)
    if not any(m.get("confidential") for m in pack.meetings):
        return owns
    secret = "TRUE" if access.confidential else _took(access)
    if secret == owns == "TRUE":
        return "TRUE"
    return f"(CASE WHEN {_CONFIDENTIAL} THEN {secret} ELSE {owns} END)"


def access_params(pack: Any, access: Any) -> dict:
    """The parameters the visibility SQL needs from the pack and the user's access."""
    return {"secret": [m.id for m in pack.meetings if m.get("confidential")], "uid": access.user.id,
            "agency": access.user.agency, "person_key": pack.members.self_group, "members_key": pack.members.repeat}


def visibility_counts(conn, pack: Any, access: Any) -> tuple[int, int]:
    """(cases the user may see, cases they may not)."""
    row = conn.execute(f"SELECT count(*) FILTER (WHERE {visible_sql(pack, access)}), count(*) FROM cases",
                       access_params(pack, access)).fetchone()
    return row[0], row[1] - row[0]


# -- the case list (engine/caselist.py: _matcher, _sorted, run_query) ----------------------------------
def _personal(pack: Any, child: str) -> bool:
    """Is ``person.<child>`` a personal field (masked in lists for users who do not own the case)?"""
    return any(c.id == child and c.personal for f in pack.intake.fields if f.type == "group" and f.id == "person"
               for c in f.fields)


def _filters(query: Any, params: dict, pack: Any, access: Any) -> list[str]:
    from storage.case_fields import MASK, fold
    where = []
    for name, column in (("statuses", "status"), ("areas", "area"), ("priorities", "priority")):
        if getattr(query, name):
            params[name] = list(getattr(query, name))
            where.append(f"{column} = ANY(%({name})s)")
    for name in ("programs", "agencies", "meetings"):
        if getattr(query, name):
            params[name] = list(getattr(query, name))
            where.append(f"{name} && %({name})s::text[]")
    if query.date_from or query.date_to:
        params["low"], params["high"] = query.date_from or "", query.date_to or "9999-12-31"
        where.append("received_on <> '' AND received_on BETWEEN %(low)s AND %(high)s")
    needle = fold(query.text)
    if needle:
        # Lists search what the user sees: in a case they do not own, a personal name is ＊＊＊.
        params["needle"], params["mask"] = needle, fold(MASK)
        seen = [("%(mask)s" if pack is not None and _personal(pack, part) else f"split_part(search, E'\\n', {n})")
                for n, part in ((1, "name"), (2, "kana"))]
        where.append(f"CASE WHEN {owns_sql(access)} THEN strpos(search, %(needle)s) > 0 "
                     f"ELSE strpos({seen[0]}, %(needle)s) > 0 OR strpos({seen[1]}, %(needle)s) > 0 END")
    return where


def duty_filters(duties: Any, pack: Any, access: Any, params: dict) -> list[str]:
    """engine/casework/duties.DutyFilter as predicates on the small columns (migration 0005)."""
    where = []
    for n, (compare, starts, day) in enumerate(duties.bounds(pack) if duties else ()):
        params[f"dday{n}"] = day
        late = [f"(status = %(ds{n}_{i})s AND status_since < %(dd{n}_{i})s)" for i in range(len(starts))]
        for i, (status, start) in enumerate(sorted(starts.items())):
            params[f"ds{n}_{i}"], params[f"dd{n}_{i}"] = status, start
        where.append("(" + " OR ".join([*late, f"referral_due {compare} %(dday{n})s"]) + ")")
    if duties and duties.mine:
        mine = "owner_worker = %(uid)s"
        if access.user.agency is not None:
            mine += " OR owner_agency = %(agency)s"
        where.append(f"({mine})")
    return where


def _order(query: Any, pack: Any, params: dict) -> str:
    newest = "received_on DESC, id DESC"
    if query.sort == "id":
        return "id"
    if query.sort == "received_on_asc":
        return "received_on, id"
    if query.sort == "priority":
        from storage.case_fields import DEFAULT_RANKS
        ranks = {p.id: p.get("rank", 0) for p in pack.choices("priorities")} if pack else DEFAULT_RANKS
        params["ranks"] = json.dumps(ranks)
        return f"COALESCE((%(ranks)s::jsonb ->> priority)::int, -1) DESC, {newest}"
    if query.sort == "status":
        params["order"] = [s.id for s in pack.statuses] if pack else []
        return (f"COALESCE(array_position(%(order)s::text[], status), cardinality(%(order)s::text[]) + 1), "
                f"COALESCE(status, chr(65535)), {newest}")
    return newest


def case_page(conn, query: Any, pack: Any, access: Any, duties: Any = None) -> tuple[list[tuple[dict, bool]], int, int, int]:
    """One page of the visible cases matching ``query`` (and ``duties``, a duties.DutyFilter):
    ([(case, owned)], total, page, pages)."""
    params = access_params(pack, access)
    where = " AND ".join([visible_sql(pack, access), *_filters(query, params, pack, access),
                          *duty_filters(duties, pack, access, params)])
    total = conn.execute(f"SELECT count(*) FROM cases WHERE {where}", params).fetchone()[0]
    pages = max(1, math.ceil(total / query.per_page))
    page = min(query.page, pages)
    params["limit"], params["offset"] = query.per_page, (page - 1) * query.per_page
    rows = conn.execute(f"SELECT body, {owns_sql(access)} FROM cases WHERE {where} ORDER BY {_order(query, pack, params)} "
                        "LIMIT %(limit)s OFFSET %(offset)s", params).fetchall()
    return [(body, owned) for body, owned in rows], total, page, pages


# -- the dashboard (engine/stats.py: counts, report, fiscal_years) --------------------------------------
_HELD = "(CASE WHEN jsonb_typeof(d -> 'held_on') = 'string' THEN d ->> 'held_on' ELSE '' END)"


def _period(column: str, date_from: str | None, date_to: str | None, params: dict) -> str:
    """stats.in_period: no bounds takes everything; bounds need a date, compared by its first 10 characters."""
    if not date_from and not date_to:
        return "TRUE"
    params["low"], params["high"] = date_from or "", date_to or "9999-12-31"
    return f"({column} <> '' AND left({column}, 10) BETWEEN %(low)s AND %(high)s)"


def received_months(conn, pack: Any, access: Any) -> list[str]:
    """The distinct 受付月 (YYYY-MM, or whatever an odd record holds) of the visible cases.

    A loose index scan down cases_received: from each month found, the next is the newest visible
    case received before that month began (every day of a month sorts at or after its "YYYY-MM"),
    so a few dozen index probes instead of a pass over every case.
    """
    visible = visible_sql(pack, access)
    step = f"SELECT left(received_on, 7) FROM cases WHERE {{before}}{visible} ORDER BY received_on DESC LIMIT 1"
    rows = conn.execute(
        f"WITH RECURSIVE m(month) AS (({step.format(before='')}) UNION ALL "
        f"SELECT ({step.format(before='received_on < m.month AND ')}) FROM m WHERE m.month IS NOT NULL) "
        "SELECT month FROM m WHERE month IS NOT NULL", access_params(pack, access))
    return [row[0] for row in rows]


# What one visible case received in the period counts under, per dimension: one scan, one
# grouping set each. Routed lists are grouped as whole arrays (a few thousand kinds, cheaper than
# unnesting every case) and spread out here, each id once per case as in stats._unique; programs
# are grouped together with meetings, which is what the pack's report figures count by.
_SCALARS = {"area": "area", "month": "left(received_on, 7)", "status": "status", "channel": "channel",
            "priority": "priority"}
_SETS = (("area",), ("month",), ("status",), ("channel",), ("priority",), ("programs", "meetings"), ("agencies",))
_COLUMNS = ("area", "month", "status", "channel", "priority", "programs", "meetings", "agencies")


def _grouping(columns: tuple[str, ...]) -> int:
    """GROUPING(every column)'s value for the grouping set ``columns``: a bit set for each column not in it."""
    return sum(1 << (len(_COLUMNS) - 1 - n) for n, c in enumerate(_COLUMNS) if c not in columns)


def dashboard(conn, pack: Any, access: Any, date_from: str | None, date_to: str | None, figures: Any,
              dimensions: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, int]]]:
    """(the figures of stats.report as keyword arguments for stats.Report, stats.counts over
    ``dimensions``) for the visible cases and the period."""
    params = access_params(pack, access)
    visible = visible_sql(pack, access)
    selected = ", ".join(f"{_SCALARS.get(c, c)} AS {c}" for c in _COLUMNS)
    sets = ", ".join("(" + ", ".join(s) + ")" for s in _SETS)
    rows = conn.execute(
        f"SELECT GROUPING({', '.join(_COLUMNS)}), {', '.join(_COLUMNS)}, count(*) "
        f"FROM (SELECT {selected} FROM cases WHERE {visible} AND {_period('received_on', date_from, date_to, params)}) s "
        f"GROUP BY GROUPING SETS ({sets})", params).fetchall()
    by_set = {_grouping(s): s for s in _SETS}
    counted: dict[str, dict[str, int]] = {d: {} for d in ("program", "agency", *_SCALARS)}
    routed = [0] * len(figures)
    new_cases = 0
    for grouping, *values, n in rows:
        row = dict(zip(_COLUMNS, values))
        columns = by_set[grouping]
        if columns == ("programs", "meetings"):
            new_cases += n
            keys, programs, meetings = set(row["programs"]) or {""}, set(row["programs"]), set(row["meetings"])
            for i, figure in enumerate(figures):
                if programs & set(figure.programs) or meetings & set(figure.meetings):
                    routed[i] += n
            dimension = "program"
        elif columns == ("agencies",):
            keys, dimension = set(row["agencies"]) or {""}, "agency"
        else:
            keys, dimension = {row[columns[0]] or ""}, columns[0]
        for key in keys:
            counted[dimension][key] = counted[dimension].get(key, 0) + n
    plans = conn.execute(f"SELECT count(*) FROM cases WHERE plan_made_on IS NOT NULL AND {visible} "
                         f"AND {_period('plan_made_on', date_from, date_to, params)}", params).fetchone()[0]
    done = conn.execute(
        f"SELECT DISTINCT id, d ->> 'meeting', left({_HELD}, 10) "
        "FROM cases, jsonb_array_elements(meetings_done) d "
        f"WHERE meetings_done IS NOT NULL AND {visible} AND jsonb_typeof(d) = 'object' "
        "AND jsonb_typeof(d -> 'meeting') = 'string' AND d ->> 'meeting' <> '' "
        f"AND {_period(_HELD, date_from, date_to, params)}", params).fetchall()
    sessions = {(meeting, day) for _, meeting, day in done}
    held: dict[str, int] = {}
    discussed: dict[str, int] = {}
    for meeting, _ in sessions:
        held[meeting] = held.get(meeting, 0) + 1
    for _, meeting, _day in done:
        discussed[meeting] = discussed.get(meeting, 0) + 1
    numbers = {"new_cases": new_cases, "plans": plans, "meetings_held": len(sessions), "discussed": len(done),
               "routed": tuple((f.label, count) for f, count in zip(figures, routed)),
               "held_by_meeting": held, "discussed_by_meeting": discussed}
    return numbers, {d: counted[d] for d in dimensions}


def todo_bodies(conn, pack: Any, access: Any, duties: Any) -> list[tuple[dict, bool]]:
    """(body, owned) of the visible cases that can hold something for 今日やること: the user's or
    their agency's (``duties``: mine, due within its days), or with a referral to their agency
    pending, or sent by them or their agency. A superset of what duties.todo, referrals.inbox and
    referrals.sent keep, so those run unchanged on it."""
    parties = ["by:" + access.user.id] + (["to:" + access.user.agency, "from:" + access.user.agency]
                                          if access.user.agency is not None else [])
    params: dict = {"parties": parties, **access_params(pack, access)}
    due = " AND ".join(duty_filters(duties, pack, access, params))
    return visible_bodies(conn, pack, access, f"(({due}) OR referral_parties && %(parties)s::text[])", params)


def agenda_bodies(conn, pack: Any, access: Any, meeting_id: str) -> list[tuple[dict, bool]]:
    """(body, owned) of the visible cases whose routing that counts (confirmed, else recommended:
    the ``meetings`` column) names ``meeting_id``: a superset of what workflow.agenda keeps, so it
    runs unchanged on them instead of on every case."""
    return visible_bodies(conn, pack, access, "meetings @> ARRAY[%(meeting)s]::text[]", {"meeting": meeting_id})


def handoff_bodies(conn, pack: Any, access: Any, since: str) -> list[tuple[dict, bool]]:
    """(body, owned) of the visible cases with a referral pending, or a routing confirmed or changed
    on ``since`` or later (or on a day that is not text): what referrals' counts and
    overrides.count over a window from ``since`` can count."""
    return visible_bodies(conn, pack, access, "(pending_referrals > 0 OR confirmed_latest >= %(since)s)", {"since": since})


def impact_inputs(conn, pack: Any, access: Any) -> list[tuple[dict, bool]]:
    """(case, owned) for the impact preview, every visible case, read from its ``case_impact`` row
    (the intake and the stored decision's digest) instead of the body (the stored decision's
    explanations are most of a body): ``{id, config_version, intake, decision}`` with the decision
    as impact._stored reads it (lists of ``{"id"}``, the priority, the trace's ``{"rule"}``)."""
    rows = conn.execute(f"SELECT id, config_version, i.intake, i.decision_digest, {owns_sql(access)} "
                        f"FROM cases JOIN case_impact i USING (id) WHERE {visible_sql(pack, access)} ORDER BY id",
                        access_params(pack, access))
    out = []
    for case_id, version, intake, digest, owned in rows:
        case: dict = {"id": case_id, "config_version": version}
        if intake is not None:
            case["intake"] = intake
        if digest is not None:
            case["decision"] = {**{k: [{"id": i} for i in digest[k]] for k in ("programs", "agencies", "meetings")},
                                "priority": digest["priority"], "trace": [{"rule": r} for r in digest["rules"]]}
        out.append((case, owned))
    return out


def visible_bodies(conn, pack: Any, access: Any, where: str = "TRUE", params: Mapping | None = None):
    """(body, owned) of every visible case matching ``where``: for CSV exports and agendas."""
    merged = {**access_params(pack, access), **(params or {})}
    return conn.execute(f"SELECT body, {owns_sql(access)} FROM cases WHERE {visible_sql(pack, access)} AND {where} "
                        "ORDER BY id", merged).fetchall()
