"""lifecycle.yaml: case statuses and the transitions allowed between them."""
from __future__ import annotations

from engine.pack.schema import ID, ID_LIST, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

SCHEMA = {
    "initial": {**ID, "required": True},
    "statuses": items({"id": {**ID, "required": True}, "label": LABEL, "next": {**ID_LIST, "required": True},
                       "final": {"type": "boolean"}}, minlength=2),
    "on_outcome": {"type": "dict", "keysrules": ID, "valuesrules": ID},
}


def build(doc: YamlDoc):
    return doc.data["initial"], choices(doc.data["statuses"]), dict(doc.data.get("on_outcome") or {})
