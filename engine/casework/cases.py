"""Taking a consultation: coerce, decide, and store the case with its decision.

The only place that joins the engine and the store, so the CLI, the UI and the
benchmark all save cases the same way.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from engine.casework.wareki import today as japan_today
from engine.errors import CaseError
from engine.pack.model import Pack
from engine.rules.decide import Decision, decide_prepared
from engine.rules.facts import coerce_form, legacy_contract, prepare


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def checked_intake(pack: Pack, raw_case: Mapping[str, Any]) -> dict:
    """The intake cleaned to the form's types; ``CaseError`` names every bad value and every
    required field left empty at once. Every path that stores an intake goes through here.

    The old contract's top-level ``consent`` is read as the person's own first (per person)."""
    case, legacy = legacy_contract(pack, raw_case)
    if legacy:
        raise CaseError(legacy)
    return coerce_form(pack, pack.intake.fields, case)


def new_record(pack: Pack, raw_case: Mapping[str, Any], actor: str = "system") -> tuple[dict, Decision]:
    """A case record (not yet saved) and the decision it carries; refuses an incomplete intake."""
    prepared = prepare(pack, checked_intake(pack, raw_case), trusted=True)
    decision = decide_prepared(pack, prepared)
    record = {
        "status": pack.initial_status,
        "status_since": str(prepared.case.get("received_on") or japan_today().isoformat())[:10],
        "created_at": now_iso(),
        "created_by": actor,
        "intake": prepared.case,
        "decision": decision.to_json(pack),
        "config_version": pack.version,
    }
    return record, decision


def intake_events(stored: Mapping[str, Any], actor: str) -> list[tuple[str, dict]]:
    """The first two events of every case: received, and decided (with the decision)."""
    return [(stored["id"], {"type": "received", "by": actor, "status": stored["status"]}),
            (stored["id"], {"type": "decided", "by": actor, "config_version": stored["config_version"],
                            "decision": stored["decision"]})]


def take_intake(repo: Any, pack: Pack, raw_case: Mapping[str, Any], actor: str = "system") -> tuple[dict, Decision]:
    """Decide and save a new case with its first events; returns the stored record."""
    record, decision = new_record(pack, raw_case, actor)
    # One change: a case is never stored without its intake events (storage journals it).
    stored = repo.save_case_with_events(record, [event for _, event in intake_events({**record, "id": ""}, actor)])
    return stored, decision
