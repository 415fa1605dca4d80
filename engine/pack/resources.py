"""resources.yaml: community resources that rules suggest (never case owners)."""
from __future__ import annotations

from engine.pack.schema import ID, ID_LIST, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

SCHEMA = {
    "resources": items({
        "id": {**ID, "required": True}, "label": LABEL,
        "program": {**ID, "required": True},
        "description": {"type": "string"},
        "placeholder": {"type": "boolean"},
        "parent": ID,
        "count": {"type": "integer", "min": 1},
        "needs": {**ID_LIST, "required": True, "minlength": 1},
        "areas": {**ID_LIST, "required": True},
        "owner": {**ID, "required": True},
    }),
}


def build(doc: YamlDoc):
    return choices(doc.data["resources"])
