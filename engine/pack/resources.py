"""resources.yaml: community resources that rules suggest (never case owners)."""
from __future__ import annotations

from engine.pack.schema import ID, ID_LIST, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc
from engine.rules.conditions import Parser

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
        # for: whom the resource is for, a condition on the case (rules' language): it is
        # suggested only when the case meets it (e.g. a 65+ member, a preschool child, no DV)
        "for": {"type": "dict"},
    }),
}


def target_groups(doc: YamlDoc, facts, mfacts, choice_ids, issues: list) -> dict:
    """Each resource's parsed ``for`` condition, checked against the rules' facts."""
    parser = Parser(doc, facts, mfacts, choice_ids)
    out = {}
    for i, raw in enumerate(doc.data["resources"]):
        if raw.get("for") is not None:
            cond = parser.parse(raw["for"], f"resources[{i}].for")
            if cond is not None:
                out[raw["id"]] = cond
    issues.extend(parser.issues)
    return out


def build(doc: YamlDoc):
    return choices(doc.data["resources"])
