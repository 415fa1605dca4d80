"""How a stored case reads: its intake as labelled values, and its timeline."""
from __future__ import annotations

from typing import Any, Mapping

from engine.casework.wareki import wareki
from engine.pack.model import FormField, Pack

EVENT_LABELS = {
    "received": "受付", "decided": "振り分け", "status_changed": "状態の変更", "plan_saved": "支援プラン作成",
    "plan_updated": "支援プラン更新", "note": "メモ", "redecided": "再判定", "meeting_outcome": "会議の記録",
    "resource_connected": "地域資源へのつなぎ",
}


def value_text(pack: Pack, f: FormField, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if f.type == "boolean":
        return "はい" if value else "いいえ"
    if f.type == "date":
        return wareki(value)
    if f.type == "select":
        return pack.label(f.choices or "", value)
    if f.type == "multiselect":
        return "、".join(pack.label(f.choices or "", v) for v in value)
    return str(value)


def intake_rows(pack: Pack, fields: tuple[FormField, ...], data: Mapping) -> list[tuple[str, str]]:
    """(label, text) for each field; values the current form no longer has are listed too,
    so renaming or removing a field never hides what was recorded."""
    rows: list[tuple[str, str]] = []
    for f in fields:
        value = data.get(f.id)
        if f.type == "group":
            for c in f.fields:
                rows.append((f"{f.label}・{c.label}", value_text(pack, c, (value or {}).get(c.id))))
        elif f.type == "repeat":
            for i, item in enumerate(value or [], 1):
                text = "　".join(f"{c.label}: {value_text(pack, c, item.get(c.id))}" for c in f.fields)
                rows.append((f"{f.item_label or f.label} {i}", text))
        else:
            rows.append((f.label, value_text(pack, f, value)))
    known = {f.id for f in fields}
    for key, value in data.items():
        if key not in known:
            rows.append((f"{key}（現在のフォームにない項目）", str(value)))
    return rows


def event_text(pack: Pack, event: Mapping) -> str:
    kind = event.get("type", "")
    head = EVENT_LABELS.get(kind, kind)
    if kind == "status_changed":
        head += f": {pack.label('statuses', event.get('from', ''))} → {pack.label('statuses', event.get('to', ''))}"
    elif kind == "note":
        head += f": {event.get('text', '')}"
    elif kind == "redecided":
        before = "、".join(m["name"] for m in (event.get("before") or {}).get("meetings", [])) or "会議なし"
        after = "、".join(m["name"] for m in (event.get("after") or {}).get("meetings", [])) or "会議なし"
        head += f"（設定の版 {event.get('config_version', '')}）: {before} → {after}"
    elif kind == "meeting_outcome":
        record = event.get("record", {})
        head += (f": {pack.label('meetings', record.get('meeting', ''))} {wareki(record.get('held_on'))} "
                 f"{pack.label('meeting_outcomes', record.get('outcome', ''))}")
    elif kind == "resource_connected":
        head += f": {pack.label('resources', event.get('resource', ''))}" + (f"（{event['note']}）" if event.get("note") else "")
    elif kind == "decided":
        head += f"（設定の版 {event.get('config_version', '')}）"
    return head
