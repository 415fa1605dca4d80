"""programs.yaml: the five 事業."""
from __future__ import annotations

from engine.pack.schema import ID, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

SCHEMA = {
    "programs": items({
        "id": {**ID, "required": True}, "label": LABEL,
        "number": {"type": "integer", "min": 1, "required": True},
        # the source's 担当課 column: one 課 for the row, or (① and ③) one 課 per 分野
        "division": {**ID, "excludes": "field_divisions", "required": True},
        "field_divisions": {"type": "dict", "keysrules": ID, "valuesrules": ID, "excludes": "division",
                            "required": True, "empty": False},
        "purpose": {"type": "string", "required": True},
    }, minlength=1),
}


def build(doc: YamlDoc):
    return choices(doc.data["programs"])
