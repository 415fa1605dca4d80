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
_TOOK = "(created_by = %(uid)s OR (%(agency)s::text IS NOT NULL AND receiving_agency = %(agency)s))"
_OWNS = f"(%(all)s OR {_TOOK} OR (%(agency)s::text IS NOT NULL AND %(agency)s = ANY(seen_by)))"
_VISIBLE = f"(%(any)s AND CASE WHEN {_CONFIDENTIAL} THEN (%(conf)s OR {_TOOK}) ELSE {_OWNS} END)"


def access_params(pack: Any, access: Any) -> dict:
    """The parameters the visibility SQL needs from the pack and the user's access."""
    return {"secret": [m.id for m in pack.meetings if m.get("confidential")], "uid": access.user.id,
            "agency": access.user.agency, "all": access.scope == "all", "any": access.scope != "none",
            "conf": bool(access.confidential), "person_key": pack.members.self_group, "members_key": pack.members.repeat}


def visibility_counts(conn, pack: Any, access: Any) -> tuple[int, int]:
    """(cases the user may see, cases they may not)."""
    row = conn.execute(f"SELECT count(*) FILTER (WHERE {_VISIBLE}), count(*) FROM cases",
                       access_params(pack, access)).fetchone()
    return row[0], row[1] - row[0]


# -- the case list (engine/caselist.py: _matcher, _sorted, run_query) ----------------------------------
def _personal(pack: Any, child: str) -> bool:
    """Is ``person.<child>`` a personal field (masked in lists for users who do not own the case)?"""
    return any(c.id == child and c.personal for f in pack.intake.fields if f.type == "group" and f.id == "person"
               for c in f.fields)


def _filters(query: Any, params: dict, pack: Any) -> list[str]:
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
        where.append(f"CASE WHEN {_OWNS} THEN strpos(search, %(needle)s) > 0 "
                     f"ELSE strpos({seen[0]}, %(needle)s) > 0 OR strpos({seen[1]}, %(needle)s) > 0 END")
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


def case_page(conn, query: Any, pack: Any, access: Any) -> tuple[list[tuple[dict, bool]], int, int, int]:
    """One page of the visible cases matching ``query``: ([(case, owned)], total, page, pages)."""
    params = access_params(pack, access)
    where = " AND ".join([_VISIBLE, *_filters(query, params, pack)])
    total = conn.execute(f"SELECT count(*) FROM cases WHERE {where}", params).fetchone()[0]
    pages = max(1, math.ceil(total / query.per_page))
    page = min(query.page, pages)
    params["limit"], params["offset"] = query.per_page, (page - 1) * query.per_page
    rows = conn.execute(f"SELECT body, {_OWNS} FROM cases WHERE {where} ORDER BY {_order(query, pack, params)} "
                        "LIMIT %(limit)s OFFSET %(offset)s", params).fetchall()
    return [(body, owned) for body, owned in rows], total, page, pages


# -- the dashboard (engine/stats.py: counts, report, fiscal_years) --------------------------------------
# stats.in_period: no bounds takes everything; bounds need a date, compared by its first 10 characters.
_PERIOD = "(%(open)s OR ({col} <> '' AND left({col}, 10) BETWEEN %(low)s AND %(high)s))"
_HELD = "(CASE WHEN jsonb_typeof(d -> 'held_on') = 'string' THEN d ->> 'held_on' ELSE '' END)"


def _period_params(date_from: str | None, date_to: str | None) -> dict:
    return {"open": not date_from and not date_to, "low": date_from or "", "high": date_to or "9999-12-31"}


def received_months(conn, pack: Any, access: Any) -> list[str]:
    """The distinct 受付月 (YYYY-MM) of the visible cases: a few hundred rows, never the cases."""
    rows = conn.execute(f"SELECT DISTINCT left(received_on, 7) FROM cases WHERE {_VISIBLE}", access_params(pack, access))
    return [row[0] for row in rows]


_DIMENSION_SQL = {
    "program": "unnest(CASE WHEN cardinality(programs) = 0 THEN ARRAY[''] ELSE programs END)",
    "agency": "unnest(CASE WHEN cardinality(agencies) = 0 THEN ARRAY[''] ELSE agencies END)",
    "area": "COALESCE(area, '')",
    "month": "left(received_on, 7)",
    "status": "COALESCE(status, '')",
    "channel": "COALESCE(channel, '')",
    "priority": "COALESCE(priority, '')",
}


def counts(conn, pack: Any, access: Any, dimensions: list[str], date_from: str | None,
           date_to: str | None) -> dict[str, dict[str, int]]:
    """Every dimension's counts over the visible cases received in the period (stats.counts)."""
    params = {**access_params(pack, access), **_period_params(date_from, date_to)}
    where = f"{_VISIBLE} AND {_PERIOD.format(col='received_on')}"
    parts = []
    for n, dimension in enumerate(dimensions):
        # DISTINCT per case: a case routed twice to one program counts once, as in stats._unique.
        parts.append(f"SELECT {n} AS d, k, count(*) FROM (SELECT DISTINCT id, {_DIMENSION_SQL[dimension]} AS k "
                     f"FROM seen) x GROUP BY k")
    sql = (f"WITH seen AS MATERIALIZED (SELECT id, programs, agencies, area, received_on, status, channel, priority "
           f"FROM cases WHERE {where}) ") + " UNION ALL ".join(parts)
    out: dict[str, dict[str, int]] = {d: {} for d in dimensions}
    for n, key, count in conn.execute(sql, params):
        out[dimensions[n]][key] = count
    return out


def report_numbers(conn, pack: Any, access: Any, date_from: str | None, date_to: str | None,
                   figures: Any) -> dict[str, Any]:
    """The figures of stats.report (the common four and the pack's ``figures``), as keyword arguments
    for stats.Report."""
    params = {**access_params(pack, access), **_period_params(date_from, date_to)}
    received = _PERIOD.format(col="received_on")
    routed_sql = []
    for n, figure in enumerate(figures):
        params[f"fp{n}"], params[f"fm{n}"] = list(figure.programs), list(figure.meetings)
        routed_sql.append(f", count(*) FILTER (WHERE {received} AND (programs && %(fp{n})s::text[] "
                          f"OR meetings && %(fm{n})s::text[]))")
    row = conn.execute(
        f"SELECT count(*) FILTER (WHERE {received}),"
        f" count(*) FILTER (WHERE plan_made_on IS NOT NULL AND {_PERIOD.format(col='plan_made_on')})"
        + "".join(routed_sql) + f" FROM cases WHERE {_VISIBLE}", params).fetchone()
    done = conn.execute(
        f"SELECT DISTINCT id, d ->> 'meeting', left({_HELD}, 10) "
        "FROM cases, jsonb_array_elements(meetings_done) d "
        f"WHERE meetings_done IS NOT NULL AND {_VISIBLE} AND jsonb_typeof(d) = 'object' "
        "AND jsonb_typeof(d -> 'meeting') = 'string' AND d ->> 'meeting' <> '' "
        f"AND {_PERIOD.format(col=_HELD)}", params).fetchall()
    sessions = {(meeting, day) for _, meeting, day in done}
    held: dict[str, int] = {}
    discussed: dict[str, int] = {}
    for meeting, _ in sessions:
        held[meeting] = held.get(meeting, 0) + 1
    for _, meeting, _day in done:
        discussed[meeting] = discussed.get(meeting, 0) + 1
    return {"new_cases": row[0], "plans": row[1], "meetings_held": len(sessions), "discussed": len(done),
            "routed": tuple((f.label, count) for f, count in zip(figures, row[2:])),
            "held_by_meeting": held, "discussed_by_meeting": discussed}


def visible_bodies(conn, pack: Any, access: Any, where: str = "TRUE", params: Mapping | None = None):
    """(body, owned) of every visible case matching ``where``: for CSV exports and agendas."""
    merged = {**access_params(pack, access), **(params or {})}
    return conn.execute(f"SELECT body, {_OWNS} FROM cases WHERE {_VISIBLE} AND {where} ORDER BY id", merged).fetchall()
