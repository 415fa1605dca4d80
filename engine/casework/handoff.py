"""The routing is a recommendation: staff confirm it, change it with a reason, and hand over.

A case keeps two routings side by side: ``decision`` (the engine's recommendation, with
its config version; 再判定 replaces it) and ``confirmed`` (what a person decided). Every
item where they differ carries a reason in ``confirmed["changes"]``. A re-decision never
touches ``confirmed``; :func:`differences` then shows what the new recommendation says
that no person has looked at yet.

Confirming names the 主担当 (``owner``) and creates a referral (つなぎ,
``engine/casework/referrals.py``) to every confirmed agency that has none open. The pure
functions here return the new record and the events for its timeline; the ``*_case``
functions load, apply and save through the repository (a ``ScopedRepository`` in the app,
which checks the role's permissions and writes the audit entries).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping

from engine.casework.caselist import as_mapping, ids_of
from engine.casework.referrals import HandoffError, answer, new_referral, owner_of, referrals_of
from engine.casework.wareki import today as japan_today
from engine.pack.model import Pack
from storage.records import check_revision

# A proposed program (参加支援: 「{meeting}で利用の適否を協議」) is its own kind: confirming keeps it a
# proposal for the meeting to decide, never turns it into a decided program.
KINDS = ("programs", "proposed_programs", "agencies", "meetings")
KIND_LABELS = {"programs": "事業", "proposed_programs": "提案する事業", "agencies": "機関", "meetings": "会議"}
CHANGE_LABELS = {"added": "追加", "removed": "除外"}


def list_of(kind: str) -> str:
    """The pack list a kind's ids come from.

    >>> list_of("proposed_programs"), list_of("agencies")
    ('programs', 'agencies')
    """
    return "programs" if kind == "proposed_programs" else kind


def kind_label(pack: Pack, kind: str) -> str:
    """A kind as staff read it; a proposal says where it is decided."""
    if kind == "proposed_programs":
        from engine.rules.sentences import proposed_note
        return f"{KIND_LABELS[kind]}（{proposed_note(pack)}）"
    return KIND_LABELS[kind]


def item_label(pack: Pack, kind: str, item: str) -> str:
    """An item's name from its pack list."""
    return pack.label(list_of(kind), item)


def marked_label(pack: Pack, kind: str, item: str) -> str:
    """An item's name, marked when it is a proposal (for lists that mix kinds)."""
    return item_label(pack, kind, item) + ("（提案）" if kind == "proposed_programs" else "")


def recommended(case: Mapping) -> dict[str, list[str]]:
    """The engine's routing as ids per kind."""
    decision = as_mapping(case.get("decision"))
    return {k: ids_of(decision.get(k)) for k in KINDS}


def confirmed(case: Mapping) -> dict[str, list[str]] | None:
    """The confirmed routing as ids per kind, or None before anyone confirmed."""
    conf = case.get("confirmed")
    if not isinstance(conf, Mapping):
        return None
    return {k: ids_of(conf.get(k)) for k in KINDS}


def rules_giving(pack: Pack, decision: Mapping, kind: str, item: str) -> list[str]:
    """Rules of the recommendation's trace whose action gives ``item`` (for the override counts).

    An agency given by kind (「圏域を担当する地域包括支援センター」) counts for every agency of that kind.
    """
    fired = [t.get("rule") for t in decision.get("trace") or () if isinstance(t, Mapping)]
    by_id = {r.id: r for r in pack.rules}
    agency_kind = next((a.get("kind") for a in pack.agencies if a.id == item), None)
    out = []
    for rule_id in fired:
        rule = by_id.get(rule_id)
        if rule is None:
            continue
        if kind == "agencies":
            hit = any(ref.id == item or (ref.kind is not None and ref.kind == agency_kind) for ref in rule.then.agencies)
        else:
            hit = item in (rule.then.proposed if kind == "proposed_programs" else getattr(rule.then, kind))
        if hit:
            out.append(rule_id)
    return out


def differences(case: Mapping) -> list[dict]:
    """Where the confirmed routing differs from the current recommendation.

    Each item: ``kind``, ``id``, ``change`` (added: confirmed but not recommended; removed:
    recommended but not confirmed) and ``explained`` (a person gave the reason) — an
    unexplained difference is what a re-decision changed since the confirmation.
    """
    conf = confirmed(case)
    if conf is None:
        return []
    rec = recommended(case)
    reasons = {(c.get("kind"), c.get("id"), c.get("change")) for c in as_mapping(case.get("confirmed")).get("changes") or ()
               if isinstance(c, Mapping)}
    return [{"kind": kind, "id": item, "change": change, "explained": (kind, item, change) in reasons}
            for kind, item, change in diff(rec, conf)]


def diff(rec: Mapping[str, list[str]], chosen: Mapping[str, list[str]]) -> list[tuple[str, str, str]]:
    """(kind, id, added|removed) for each item where ``chosen`` differs from ``rec``, kind by kind.

    A proposal that became a decided program is not a second difference: the program added says it.

    >>> diff({"programs": [], "proposed_programs": ["p"], "agencies": ["a"], "meetings": []},
    ...      {"programs": ["p"], "proposed_programs": [], "agencies": [], "meetings": []})
    [('programs', 'p', 'added'), ('agencies', 'a', 'removed')]
    """
    out = []
    for kind in KINDS:
        got, had = list(chosen.get(kind) or ()), list(rec.get(kind) or ())
        out += [(kind, i, "added") for i in got if i not in had]
        out += [(kind, i, "removed") for i in had if i not in got
                and not (kind == "proposed_programs" and i in (chosen.get("programs") or ()))]
    return out


def _check_ids(pack: Pack, chosen: Mapping[str, Any]) -> dict[str, list[str]]:
    out = {}
    for kind in KINDS:
        ids, known = list(dict.fromkeys(chosen.get(kind) or ())), set(pack.ids(list_of(kind)))
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise HandoffError(f"{KIND_LABELS[kind]}「{'、'.join(unknown)}」は設定にありません。画面を開き直してください。")
        out[kind] = ids
    # A program both decided and proposed is decided.
    out["proposed_programs"] = [i for i in out["proposed_programs"] if i not in out["programs"]]
    return out


def confirm(pack: Pack, case: Mapping, chosen: Mapping[str, Any], reasons: Mapping[str, Mapping], actor: str,
            actor_agency: str | None, today: dt.date, owner: Mapping | None = None) -> tuple[dict, list[dict]]:
    """The case with ``chosen`` (ids per kind) as its confirmed routing, and the timeline events.

    ``reasons`` maps ``"kind:id"`` to ``{"text", "code"}`` for each item that differs from the
    recommendation; a difference already explained at an earlier confirmation keeps its reason.
    ``owner`` (``{agency, worker}``) is the 主担当; by default the confirming staff member and
    their agency (or the first confirmed agency). An owner already set changes only through
    :func:`reassign`.
    """
    chosen = _check_ids(pack, chosen)
    rec = recommended(case)
    old = as_mapping(case.get("confirmed"))
    kept = {(c.get("kind"), c.get("id"), c.get("change")): c for c in old.get("changes") or () if isinstance(c, Mapping)}
    codes = set(pack.ids("override_reasons"))
    changes, new_changes, missing = [], [], []
    for kind, item, change in diff(rec, chosen):
        given = as_mapping(reasons.get(f"{kind}:{item}"))
        text, code = str(given.get("text") or "").strip(), given.get("code") or None
        if code and code not in codes:
            raise HandoffError(f"理由の区分「{code}」は vocabularies.yaml の override_reasons にありません。")
        if not text and (kind, item, change) in kept:
            changes.append(kept[(kind, item, change)])
            continue
        if not text:
            missing.append(f"{KIND_LABELS[kind]}「{item_label(pack, kind, item)}」の{CHANGE_LABELS[change]}")
            continue
        entry = {"kind": kind, "id": item, "change": change, "reason": text, "reason_code": code,
                 "rules": rules_giving(pack, as_mapping(case.get("decision")), kind, item) if change == "removed" else [],
                 "by": actor, "on": today.isoformat()}
        changes.append(entry)
        new_changes.append(entry)
    if missing:
        raise HandoffError("推薦と違う点には理由が必要です: " + "、".join(missing) + "。理由を書いてから確定してください。")
    out = dict(case)
    out["confirmed"] = {**{k: [{"id": i, "name": item_label(pack, k, i)} for i in chosen[k]] for k in KINDS},
                        "changes": changes, "by": actor, "on": today.isoformat(),
                        "recommendation_version": as_mapping(case.get("decision")).get("config_version")}
    events: list[dict] = [{"type": "routing_confirmed", "by": actor, "recommended": rec, "confirmed": chosen,
                           "recommendation_version": out["confirmed"]["recommendation_version"]}]
    events += [{"type": "routing_changed", "by": actor, **{k: c[k] for k in ("kind", "id", "change", "reason", "reason_code", "rules")}}
               for c in new_changes]
    refs = [dict(r) for r in referrals_of(case)]
    kept_refs = []
    for ref in refs:
        if ref.get("state") == "pending" and ref.get("agency") not in chosen["agencies"]:
            events.append({"type": "referral_withdrawn", "by": actor, "referral": ref.get("id"), "agency": ref.get("agency")})
        else:
            kept_refs.append(ref)
    out["referrals"] = kept_refs
    open_at = {r.get("agency") for r in kept_refs if r.get("state") in ("pending", "accepted")}
    for agency in chosen["agencies"]:
        if agency not in open_at:
            ref = new_referral(pack, out, agency, actor, actor_agency, today)
            out["referrals"] = [*out["referrals"], ref]
            events.append({"type": "referral_sent", "by": actor, "referral": ref["id"], "agency": agency,
                           "due": ref["due"], "state": ref["state"]})
    if owner_of(case)["agency"] is None:
        agency = as_mapping(owner).get("agency") or actor_agency or next(iter(chosen["agencies"]), None)
        if agency is None:
            raise HandoffError("主担当の機関を選んでください（確定する振り分けに機関がありません）。")
        if agency not in pack.ids("agencies"):
            raise HandoffError(f"主担当の機関「{agency}」は名簿にありません。")
        out["owner"] = {"agency": agency, "worker": str(as_mapping(owner).get("worker") or actor).strip() or actor,
                        "since": today.isoformat()}
        events.append({"type": "owner_set", "by": actor, "owner": out["owner"]})
    return out, events


def reassign(pack: Pack, case: Mapping, agency: str, worker: str, reason: str, actor: str,
             today: dt.date) -> tuple[dict, list[dict]]:
    """The case with a new 主担当; a reason is required and the change is a timeline event."""
    if agency not in pack.ids("agencies"):
        raise HandoffError(f"主担当の機関「{agency}」は名簿にありません。")
    if not (reason or "").strip():
        raise HandoffError("主担当を変える理由を書いてください。")
    before = owner_of(case)
    after = {"agency": agency, "worker": (worker or "").strip() or None, "since": today.isoformat()}
    if before["agency"] == after["agency"] and before["worker"] == after["worker"]:
        raise HandoffError("主担当が変わっていません。新しい機関か担当者を選んでください。")
    out = {**case, "owner": after}
    return out, [{"type": "owner_changed", "by": actor, "before": before, "after": after, "reason": reason.strip()}]


# Through the repository ---------------------------------------------------------------

def apply(repo: Any, case_id: str, change: Callable[[dict], tuple[dict, list[dict]]],
          expected_revision: int | None = None) -> dict:
    """Load the case, apply a pure change, save it with the revision the user saw, add the events."""
    case = repo.get_case(case_id)
    if case is None:
        raise HandoffError(f"ケース {case_id} は見つかりません。ケース一覧から開き直してください。")
    # A case changed since the user's page was drawn is refused as the save would refuse it, before
    # the change is checked against a state they have not seen (an answer someone already gave).
    check_revision(case_id, expected_revision, case)
    updated, events = change(case)
    # One change: the case and its events land together or not at all (storage journals it).
    return repo.save_case_with_events(updated, events, expected_revision=expected_revision)


def confirm_case(repo: Any, pack: Pack, case_id: str, chosen: Mapping, reasons: Mapping, actor: str,
                 actor_agency: str | None, today: dt.date | None = None, owner: Mapping | None = None,
                 expected_revision: int | None = None) -> dict:
    day = today or japan_today()
    return apply(repo, case_id, lambda c: confirm(pack, c, chosen, reasons, actor, actor_agency, day, owner),
                 expected_revision)


def reassign_case(repo: Any, pack: Pack, case_id: str, agency: str, worker: str, reason: str, actor: str,
                  today: dt.date | None = None, expected_revision: int | None = None) -> dict:
    day = today or japan_today()
    return apply(repo, case_id, lambda c: reassign(pack, c, agency, worker, reason, actor, day), expected_revision)


def answer_case(repo: Any, pack: Pack, case_id: str, referral_id: str, accept: bool, actor: str,
                reason: str = "", reason_code: str | None = None, today: dt.date | None = None,
                expected_revision: int | None = None) -> dict:
    day = today or japan_today()
    return apply(repo, case_id, lambda c: answer(pack, c, referral_id, accept, actor, day, reason, reason_code),
                 expected_revision)
