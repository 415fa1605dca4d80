"""lifecycle.yaml: case statuses and the transitions allowed between them."""
from __future__ import annotations

from engine.pack.schema import ID, ID_LIST, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

# How long a case may stay in a status before someone must look at it again: exactly one unit.
STAY = {"type": "dict", "minlength": 1, "maxlength": 1,
        "schema": {"days": {"type": "integer", "min": 1}, "working_days": {"type": "integer", "min": 1},
                   "months": {"type": "integer", "min": 1}}}
SCHEMA = {
    "initial": {**ID, "required": True},
    "statuses": items({"id": {**ID, "required": True}, "label": LABEL, "next": {**ID_LIST, "required": True},
                       "final": {"type": "boolean"}, "stay": STAY}, minlength=2),
    "on_outcome": {"type": "dict", "keysrules": ID, "valuesrules": ID},
    # Working days a receiving agency has to accept a referral (つなぎ): a default, and per
    # agency kind (roster.yaml agencies[].kind).
    "referrals": {"type": "dict", "schema": {
        "accept_within": {"type": "dict", "required": True, "schema": {
            "default": {"type": "integer", "min": 1, "required": True},
            "by_kind": {"type": "dict", "keysrules": ID, "valuesrules": {"type": "integer", "min": 1}}}}}},
}


def build(doc: YamlDoc):
    return doc.data["initial"], choices(doc.data["statuses"]), dict(doc.data.get("on_outcome") or {})


def accept_days(doc: YamlDoc) -> dict[str, int]:
    """Working days to accept a referral: agency kind → days, ``""`` → the default (5 when unset)."""
    within = (doc.data.get("referrals") or {}).get("accept_within") or {}
    return {"": int(within.get("default", 5)), **{k: int(v) for k, v in (within.get("by_kind") or {}).items()}}
