"""roles.yaml: who may see which cases and do what (accounts live in the data folder)."""
from __future__ import annotations

from engine.pack.schema import ID, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

PERMISSIONS = ["publish_config", "manage_users", "view_audit", "export",
               # The hand-over of a case (engine/casework/handoff.py): confirm the recommended
               # routing, change it (with a reason), accept or return a referral, change the 主担当.
               "confirm_routing", "override_routing", "accept_referral", "reassign_owner"]
SCHEMA = {
    "roles": items({
        "id": {**ID, "required": True}, "label": LABEL,
        "cases": {"type": "string", "required": True, "allowed": ["all", "own_agency", "none"]},
        "confidential_meetings": {"type": "boolean", "required": True},
        "permissions": {"type": "list", "schema": {"type": "string", "allowed": PERMISSIONS}},
        "training_only": {"type": "boolean"},
    }, minlength=1),
}


def build(doc: YamlDoc):
    return choices(doc.data["roles"])
