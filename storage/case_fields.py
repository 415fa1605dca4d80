"""How a stored case's fields are read when lists and counts look at them: tolerant accessors
(an old or hand-edited record is read, never a crash), the search folding, the default
priority ranks and the mask shown for a personal field.

Here, in storage, so that both the Python case list (engine/casework/caselist.py re-exports
these) and the PostgreSQL store's columns and queries read a case the same way.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Set
from functools import lru_cache
from typing import Any

#: Used when no pack is given; a pack's own ranks (vocabularies.yaml) win.
DEFAULT_RANKS = {"urgent": 2, "high": 1, "normal": 0}
#: What a personal field shows to a user who does not own the case.
MASK = "＊＊＊"
_EMPTY: Mapping = {}


def fold(text: Any) -> str:
    """Text as the search compares it: NFKC, hiragana for katakana, no spaces, lower case.

    >>> fold("ヤマダ　ﾊﾅｺ")
    'やまだはなこ'
    >>> fold(None)
    ''
    """
    if not isinstance(text, str):
        return ""
    return _fold(text)


@lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    # Cached: every rerun of the page folds the same names again, and NFKC is the
    # slow part of a search over 20,000 cases.
    out = []
    for ch in unicodedata.normalize("NFKC", text).casefold():
        if ch.isspace():
            continue
        if "ァ" <= ch <= "ヶ":
            ch = chr(ord(ch) - 0x60)
        out.append(ch)
    return "".join(out)


def is_mapping(value: Any) -> bool:
    """Is ``value`` a dict (or another mapping)?"""
    # ``type() is dict`` first: the isinstance check against the Mapping ABC is slow,
    # and this runs several times per case on every rerun of the list.
    return type(value) is dict or isinstance(value, Mapping)


def as_mapping(value: Any) -> Mapping:
    """``value`` if it is a mapping, else an empty one (an old record may lack a part)."""
    return value if type(value) is dict or isinstance(value, Mapping) else _EMPTY


def as_str(value: Any) -> str | None:
    """``value`` if it is a string, else None (a hand-edited record may hold anything)."""
    return value if type(value) is str or isinstance(value, str) else None


def ids_of(items: Any) -> list[str]:
    """Ids of a decision list (``[{id, name}]``); tolerates bare ids and junk."""
    if type(items) is not list and not isinstance(items, tuple):
        return []
    out = []
    for item in items:
        if is_mapping(item):
            item = item.get("id")
        if type(item) is str or isinstance(item, str):
            out.append(item)
    return out


def routing_of(case: Mapping) -> Mapping:
    """The routing that counts: the one a person confirmed, else the engine's recommendation.

    >>> routing_of({"decision": {"agencies": ["a"]}, "confirmed": {"agencies": ["b"]}})["agencies"]
    ['b']
    """
    conf = case.get("confirmed")
    return conf if type(conf) is dict or isinstance(conf, Mapping) else as_mapping(case.get("decision"))


def agencies_of(case: Mapping) -> set[str]:
    """Agencies a case concerns: its routing (the confirmed one once confirmed, else the
    recommendation), every agency a referral went to, and the 主担当's agency.

    An agency a person removed from the routing no longer sees the case (unless it was
    already handed a referral it answered).

    >>> sorted(agencies_of({"decision": {"agencies": ["a"]}, "confirmed": {"agencies": ["b"]},
    ...                     "referrals": [{"agency": "c"}], "owner": {"agency": "d"}}))
    ['b', 'c', 'd']
    """
    out = set(ids_of(routing_of(case).get("agencies")))
    refs = case.get("referrals")
    if isinstance(refs, list):
        out.update(r.get("agency") for r in refs if is_mapping(r))
    owner = as_mapping(case.get("owner")).get("agency")
    if owner:
        out.add(owner)
    return out


def concerns_agency(case: Mapping, agency: str) -> bool:
    """``agency in agencies_of(case)`` without building the set: access.py asks it of every case
    the list shows.

    >>> case = {"decision": {"agencies": ["a"]}, "confirmed": {"agencies": ["b"]}, "referrals": [{"agency": "c"}]}
    >>> [concerns_agency(case, x) for x in "abcd"]
    [False, True, True, False]
    """
    owner = as_mapping(case.get("owner")).get("agency")
    if owner and owner == agency:
        return True
    refs = case.get("referrals")
    if isinstance(refs, list) and any(is_mapping(r) and r.get("agency") == agency for r in refs):
        return True
    return agency in ids_of(routing_of(case).get("agencies"))


def routed_meetings(case: Mapping) -> set[str]:
    """Meetings a case was routed to, recommended or confirmed (a confidential one stays so
    even when a person removes it)."""
    return set(ids_of(as_mapping(case.get("decision")).get("meetings"))) | set(
        ids_of(as_mapping(case.get("confirmed")).get("meetings")))


def routed_to(case: Mapping, meetings: Set[str]) -> bool:
    """Is ``case`` routed (recommended or confirmed) to one of ``meetings``? ``routed_meetings``
    without building the sets: access.confidential asks it of every case the list shows."""
    return any(m in meetings for part in ("decision", "confirmed")
               for m in ids_of(as_mapping(case.get(part)).get("meetings")))


def consent_marks(intake: Mapping) -> dict:
    """What engine/casework/access.py's everyone_consented reads, without knowing the pack's
    group names: {"top": the old contract's consent, "g:<group>": the consent of a group that has
    one, "l:<list>": every row of a list with a concern said yes}.

    >>> consent_marks({"consent": "yes", "person": {"consent": "no"},
    ...                "household": [{"concerns": ["debt"], "consent": "yes"}, {"concerns": [], "consent": "no"}]})
    {'top': 'yes', 'g:person': 'no', 'l:household': True}
    """
    out: dict = {"top": intake.get("consent")}
    for key, value in intake.items():
        if is_mapping(value) and "consent" in value:
            out["g:" + key] = value["consent"]
        elif isinstance(value, list):
            out["l:" + key] = all(row.get("consent") == "yes" for row in value if is_mapping(row) and row.get("concerns"))
    return out


def received_on(case: Mapping) -> str:
    """The case's ISO 受付日, or "" when the record has none."""
    day = as_mapping(case.get("intake")).get("received_on")
    return day[:10] if isinstance(day, str) else ""


def priority_of(case: Mapping) -> str | None:
    """The decision's priority id, or None (no decision, or an odd value)."""
    return as_str(as_mapping(case.get("decision")).get("priority"))


def status_of(case: Mapping) -> str | None:
    """The case's status id, or None."""
    return as_str(case.get("status"))


def status_since(case: Mapping) -> str:
    """ISO day the case entered its current status ("" when unknown; an old record without
    ``status_since`` counts from its 受付日)."""
    return (as_str(case.get("status_since")) or received_on(case))[:10]


def status_since_day(case: Mapping) -> dt.date | None:
    """``status_since`` as a date, or None when it is not one (then no status limit applies)."""
    since = status_since(case)
    try:
        return dt.date.fromisoformat(since) if since else None
    except ValueError:
        return None


def referral_due(case: Mapping) -> str | None:
    """The earliest due day (as written) of the case's referrals still waiting for an answer, or None.
    "Some pending referral is due before X" is "this is before X" (referrals.is_overdue, duties.due_by)."""
    refs = case.get("referrals")
    dues = [as_str(r.get("due")) for r in refs if is_mapping(r) and r.get("state") == "pending"] if isinstance(refs, list) else []
    return min((d for d in dues if d), default=None)


def owner_ids(case: Mapping) -> tuple[str | None, str | None]:
    """The 主担当's (worker, agency) ids (referrals.owner_of)."""
    owner = as_mapping(case.get("owner"))
    return as_str(owner.get("worker")), as_str(owner.get("agency"))


def referral_parties(case: Mapping) -> list[str]:
    """Who a referral of the case concerns, for 今日やること (engine/casework/duties.todo,
    referrals.inbox and sent): ``to:<agency>`` of each pending one, ``by:<user>`` and
    ``from:<agency>`` of every one."""
    refs = case.get("referrals")
    out = set()
    for ref in refs if isinstance(refs, list) else ():
        if not is_mapping(ref):
            continue
        if ref.get("state") == "pending" and as_str(ref.get("agency")):
            out.add("to:" + ref["agency"])
        for prefix, key in (("by:", "sent_by"), ("from:", "from_agency")):
            if as_str(ref.get(key)):
                out.add(prefix + ref[key])
    return sorted(out)


def pending_referrals(case: Mapping) -> int:
    """How many of the case's referrals wait for an answer."""
    refs = case.get("referrals")
    return sum(1 for r in refs if is_mapping(r) and r.get("state") == "pending") if isinstance(refs, list) else 0


def confirmed_latest(case: Mapping) -> str | None:
    """The latest day (as written) of the confirmed routing and of its changes, None without one:
    a case counts in the overrides of a window starting on X (engine/casework/overrides.count)
    only when this is X or later. A day that is not text reads "~", after every date, so such a
    case is always read and judged by the Python count."""
    conf = as_mapping(case.get("confirmed"))
    if not conf:
        return None
    changes = conf.get("changes")
    days = [conf.get("on"), *(c.get("on") for c in changes if is_mapping(c))] if isinstance(changes, list) \
        else [conf.get("on")]
    return max((d if isinstance(d, str) else "~" if d else "" for d in days), default="")


def decision_digest(case: Mapping) -> dict | None:
    """What the impact preview (engine/changes/impact.py) reads of the stored decision: its
    programs', agencies' and meetings' ids, its priority and the rules that fired; None when
    the case has no decision."""
    decision = case.get("decision")
    if not is_mapping(decision) or not decision:
        return None
    trace = decision.get("trace")
    return {**{k: ids_of(decision.get(k)) for k in ("programs", "agencies", "meetings")},
            "priority": decision.get("priority"),
            "rules": [t.get("rule") for t in trace if is_mapping(t)] if isinstance(trace, list) else []}

