"""programs.yaml: the five 事業."""
from __future__ import annotations

from engine.pack.schema import ID, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

SCHEMA = {
    "programs": items({
        "id": {**ID, "required": True}, "label": LABEL,
        "number": {"type": "integer", "min": 1, "required": True},
        "division": {**ID, "required": True},
        "purpose": {"type": "string", "required": True},
    }, minlength=1),
}


def build(doc: YamlDoc):
    return choices(doc.data["programs"])
