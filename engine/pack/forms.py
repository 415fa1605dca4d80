"""forms/*.yaml: the 相談受付票, 支援プラン and 会議記録, rendered by the UI from this data."""
from __future__ import annotations

from engine.pack.model import Form, FormField
from engine.pack.schema import ID, LABEL

FIELD_TYPES = ["text", "textarea", "integer", "date", "boolean", "select", "multiselect", "group", "repeat"]


def _field_schema(nested: dict | None) -> dict:
    schema = {
        "id": {**ID, "required": True},
        "type": {"type": "string", "required": True, "allowed": FIELD_TYPES},
        "label": LABEL,
        "required": {"type": "boolean"},
        "choices": ID,
        "show_if": {"type": "dict"},
        "min": {"type": "integer"},
        "max": {"type": "integer"},
        "pattern": {"type": "string"},
        "help": {"type": "string"},
        "personal": {"type": "boolean"},
        "max_items": {"type": "integer", "min": 1},
        "item_label": {"type": "string"},
    }
    if nested is not None:
        schema["fields"] = {"type": "list", "schema": {"type": "dict", "schema": nested}}
    return schema


SCHEMA = {
    "id": {**ID, "required": True},
    "label": LABEL,
    "fields": {"type": "list", "required": True, "minlength": 1,
               "schema": {"type": "dict", "schema": _field_schema(_field_schema(None))}},
}


def build_field(raw: dict, show_if=None, children: tuple = ()) -> FormField:
    return FormField(
        id=raw["id"], type=raw["type"], label=raw["label"], required=bool(raw.get("required")),
        choices=raw.get("choices"), show_if=show_if, min=raw.get("min"), max=raw.get("max"),
        pattern=raw.get("pattern"), help=raw.get("help", ""), personal=bool(raw.get("personal")),
        max_items=raw.get("max_items"), item_label=raw.get("item_label", ""), fields=children)


def structure_issues(raw_fields: list, path: str) -> list[tuple[str, str, str]]:
    """Shape problems Cerberus cannot see: (key, message, hint)."""
    out = []
    seen: set[str] = set()
    for i, f in enumerate(raw_fields):
        key = f"{path}[{i}]"
        if f["id"] in seen:
            out.append((f"{key}.id", f"項目ID「{f['id']}」が重複しています", "別のIDにしてください"))
        seen.add(f["id"])
        kind = f["type"]
        if kind in ("select", "multiselect") and not f.get("choices"):
            out.append((key, f"{kind} の項目には choices（選択肢の一覧）が必要です", "例: choices: concerns"))
        if kind in ("group", "repeat") and not f.get("fields"):
            out.append((key, f"{kind} の項目には fields（中の項目）が必要です", ""))
        if kind not in ("group", "repeat") and f.get("fields"):
            out.append((f"{key}.fields", "fields を持てるのは group と repeat だけです", "type を確かめてください"))
        if "min" in f and "max" in f and f["min"] > f["max"]:
            out.append((f"{key}.min", f"min（{f['min']}）が max（{f['max']}）より大きいです", "値を入れ替えてください"))
        if f.get("pattern"):
            import re
            try:
                re.compile(f["pattern"])
            except re.error as err:
                out.append((f"{key}.pattern", f"pattern が正規表現として読めません: {err}", ""))
        if f.get("fields"):
            out.extend(structure_issues(f["fields"], f"{key}.fields"))
    return out


def form(raw: dict, fields: tuple[FormField, ...]) -> Form:
    return Form(raw["id"], raw["label"], fields)
