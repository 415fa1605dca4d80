"""roster.yaml: divisions, areas, school districts and every agency (CSWs included)."""
from __future__ import annotations

from engine.pack.schema import ID, ID_LIST, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

_BASE = {"id": {**ID, "required": True}, "label": LABEL, "placeholder": {"type": "boolean"}}
SCHEMA = {
    "divisions": items(_BASE, minlength=1),
    "areas": items(_BASE, minlength=1),
    "school_districts": items({**_BASE, "area": {**ID, "required": True}}),
    "agencies": items({
        **_BASE,
        "kind": {**ID, "required": True},
        "program": ID,
        "field": ID,
        "operation": {"type": "string", "required": True, "allowed": ["direct", "contracted", "external"]},
        "count": {"type": "integer", "min": 1, "required": True},
        "division": ID,
        "areas": {**ID_LIST, "required": True},
        "stationed_at": ID,
        "contact": {"type": "string"},
        "functions": {"type": "list", "schema": {"type": "string"}},
    }, minlength=1),
}

OPERATION_LABELS = {"direct": "直営", "contracted": "委託", "external": "外部"}


def build(doc: YamlDoc) -> dict:
    return {name: choices(doc.data[name]) for name in SCHEMA}
