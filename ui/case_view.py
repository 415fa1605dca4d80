"""How a stored case reads: its intake as labelled values, and its timeline."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from engine.casework.handoff import KINDS, marked_label
from engine.casework.wareki import wareki
from engine.pack.model import FormField, Pack

EVENT_LABELS = {
    "received": "受付", "decided": "振り分け", "status_changed": "状態の変更", "plan_saved": "支援プラン作成",
    "plan_updated": "支援プラン更新", "note": "メモ", "redecided": "再判定", "meeting_outcome": "会議の記録",
    "resource_connected": "地域資源へのつなぎ", "intake_corrected": "受付内容の訂正",
    "routing_confirmed": "振り分けの確定", "routing_changed": "推薦からの変更", "referral_sent": "つなぎを送付",
    "referral_accepted": "つなぎの受理", "referral_returned": "つなぎの返送", "referral_withdrawn": "つなぎの取り下げ",
    "owner_set": "主担当の決定", "owner_changed": "主担当の変更",
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


def event_text(pack: Pack, event: Mapping, version_name: Callable[[str], str] = str) -> str:
    kind = event.get("type", "")
    head = EVENT_LABELS.get(kind, kind)
    if kind == "status_changed":
        head += f": {pack.label('statuses', event.get('from', ''))} → {pack.label('statuses', event.get('to', ''))}"
    elif kind == "note":
        head += f": {event.get('text', '')}"
    elif kind == "redecided":
        before = "、".join(m["name"] for m in (event.get("before") or {}).get("meetings", [])) or "会議なし"
        after = "、".join(m["name"] for m in (event.get("after") or {}).get("meetings", [])) or "会議なし"
        head += f"（{version_name(event.get('config_version', ''))}）: {before} → {after}"
    elif kind == "meeting_outcome":
        record = event.get("record", {})
        head += (f": {pack.label('meetings', record.get('meeting', ''))} {wareki(record.get('held_on'))} "
                 f"{pack.label('meeting_outcomes', record.get('outcome', ''))}")
    elif kind == "resource_connected":
        head += f": {pack.label('resources', event.get('resource', ''))}" + (f"（{event['note']}）" if event.get("note") else "")
    elif kind == "intake_corrected":
        head += f": {'、'.join(event.get('changed', []))}（理由: {event.get('reason', '')}）"
    elif kind == "decided":
        head += f"（{version_name(event.get('config_version', ''))}）"
    elif kind == "routing_confirmed":
        conf = event.get("confirmed") or {}
        head += f"（推薦は{version_name(event.get('recommendation_version') or '')}）: 機関 " + \
            ("、".join(pack.label("agencies", a) for a in conf.get("agencies") or ()) or "なし")
    elif kind == "routing_changed":
        k = event.get("kind") if event.get("kind") in KINDS else "agencies"
        verb = "を加えた" if event.get("change") == "added" else "を外した"
        code = f"［{pack.label('override_reasons', event['reason_code'])}］" if event.get("reason_code") else ""
        head += f": {marked_label(pack, k, str(event.get('id')))}{verb}{code} 理由: {event.get('reason', '')}"
    elif kind in ("referral_sent", "referral_accepted", "referral_returned", "referral_withdrawn"):
        head += f": {pack.label('agencies', str(event.get('agency')))}"
        if kind == "referral_sent":
            head += f"（受理の期限 {wareki(event.get('due'))}）"
        if event.get("reason"):
            code = f"［{pack.label('return_reasons', event['reason_code'])}］" if event.get("reason_code") else ""
            head += f" 理由{code}: {event['reason']}"
    elif kind in ("owner_set", "owner_changed"):
        after = event.get("owner") or event.get("after") or {}
        head += f": {pack.label('agencies', str(after.get('agency')))} {after.get('worker') or ''}"
        if event.get("reason"):
            head += f" 理由: {event['reason']}"
    return head
