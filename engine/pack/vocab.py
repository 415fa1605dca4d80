"""vocabularies.yaml: concerns and their 分野, channels, consent, relations, priorities."""
from __future__ import annotations

from engine.pack.model import Choice, frozen
from engine.pack.schema import ID, LABEL, items
from engine.yamlio import YamlDoc

_CHOICE = {"id": {**ID, "required": True}, "label": LABEL}
SCHEMA = {
    "fields": items(_CHOICE, minlength=1),
    "concerns": items({**_CHOICE, "field": ID}, minlength=1),
    "channels": items(_CHOICE, minlength=1),
    "consent": items(_CHOICE, minlength=1),
    "relations": items(_CHOICE, minlength=1),
    "priorities": items({**_CHOICE, "rank": {"type": "integer", "required": True}}, minlength=1),
    "meeting_outcomes": items(_CHOICE),
    # Optional: the reason codes staff may pick when they change a recommended routing or
    # return a referral (the free-text reason is always asked for as well).
    "override_reasons": {**items(_CHOICE), "required": False},
    "return_reasons": {**items(_CHOICE), "required": False},
}


def choices(raw: list[dict]) -> tuple[Choice, ...]:
    """Entries as ``Choice``s; every key but id and label is kept as data."""
    return tuple(Choice(str(r["id"]), str(r["label"]), frozen({k: v for k, v in r.items() if k not in ("id", "label")}))
                 for r in raw)


def build(doc: YamlDoc) -> dict[str, tuple[Choice, ...]]:
    return {name: choices(doc.data.get(name) or []) for name in SCHEMA}
