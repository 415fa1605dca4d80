"""Widgets of the hand-over: recommended beside confirmed routing, the confirm form, referrals.

The logic is in ``engine/casework/handoff.py`` and ``referrals.py``; this draws it. Reasons
typed by staff are shown with ``st.text`` (never as markdown).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import pandas as pd
import streamlit as st

from engine.casework.handoff import (CHANGE_LABELS, KIND_LABELS, KINDS, confirmed, diff, differences, item_label,
                                     kind_label, list_of, recommended)
from engine.casework.referrals import STATE_LABELS, is_overdue, owner_of, referrals_of
from engine.casework.wareki import wareki
from engine.pack.model import Pack
from ui.plain import md
from ui.state import version_name


def _names(pack: Pack, kind: str, ids: list[str]) -> str:
    return "、".join(item_label(pack, kind, i) for i in ids) or "なし"


def side_by_side(pack: Pack, case: Mapping) -> None:
    """推薦 | 確定 for each kind, then every difference with its reason (or a flag when none)."""
    rec, conf = recommended(case), confirmed(case)
    version = version_name((case.get("decision") or {}).get("config_version") or case.get("config_version"))
    rows = [{"": kind_label(pack, k), f"推薦（{version}）": _names(pack, k, rec[k]),
             "確定した振り分け": _names(pack, k, conf[k]) if conf else "（未確定）"} for k in KINDS]
    # A plain table: long agency names wrap instead of being cut off.
    st.table(pd.DataFrame(rows).set_index(""))
    if conf is None:
        st.info("この振り分けはまだ推薦のままです。内容を確かめて「振り分けを確定する」を押してください。")
        return
    info = case.get("confirmed") or {}
    st.caption(f"確定: {wareki(info.get('on'))}（{md(info.get('by', ''))}）　推薦は{md(version_name(info.get('recommendation_version')))}")
    reasons = {(c.get("kind"), c.get("id"), c.get("change")): c for c in info.get("changes") or ()}
    codes = {c.id: c.label for c in pack.choices("override_reasons")}
    for d in differences(case):
        what = f"{KIND_LABELS[d['kind']]}「{item_label(pack, d['kind'], d['id'])}」"
        shown = f"{KIND_LABELS[d['kind']]}「{md(item_label(pack, d['kind'], d['id']))}」"      # inside markdown
        if d["explained"]:
            c = reasons[(d["kind"], d["id"], d["change"])]
            code = f"［{codes.get(c.get('reason_code'), c.get('reason_code'))}］" if c.get("reason_code") else ""
            st.text(f"・{what}を{CHANGE_LABELS[d['change']]}{code}: {c.get('reason', '')}（{c.get('by', '')}）")
        elif d["change"] == "removed":
            st.warning(f"再判定で変わった点: 新しい推薦に{shown}があります。確定した振り分けには入っていません。"
                       "必要なら加えて確定し直すか、外す理由を書いて確定してください。")
        else:
            st.warning(f"再判定で変わった点: 新しい推薦には{shown}がありません（確定した振り分けには残っています）。")


def confirm_form(pack: Pack, case: Mapping, prefix: str, user_agency: str | None, user_id: str,
                 can_override: bool) -> tuple[dict, dict, dict | None] | None:
    """Pickers for the routing (starting from the confirmed one, else the recommendation), a reason
    for every difference, the 主担当 when none is set. Returns (chosen, reasons, owner) on submit."""
    rec = recommended(case)
    start = confirmed(case) or rec
    chosen: dict[str, list[str]] = {}
    # One picker a line: side by side, at 1024 px an agency's name was cut to 「生活困…」.
    places = dict.fromkeys(KINDS, st)
    for kind in KINDS:
        options = list(dict.fromkeys([*pack.ids(list_of(kind)), *start[kind]]))
        chosen[kind] = places[kind].multiselect(md(kind_label(pack, kind)), options, default=start[kind],
                                                key=f"{prefix}.{kind}", format_func=lambda i, k=kind: item_label(pack, k, i),
                                                disabled=not can_override, placeholder="なし", select_all=False, wrap=True)
    if not can_override:
        st.caption("推薦を変える（外す・加える）権限がないため、推薦どおりに確定します。")
    reasons: dict[str, dict] = {}
    changed = diff(rec, chosen)
    kept = {(c.get("kind"), c.get("id"), c.get("change")) for c in (case.get("confirmed") or {}).get("changes") or ()}
    codes = pack.ids("override_reasons")
    if changed:
        st.markdown("**推薦と違う点の理由**（経過に残り、ルールの見直しに使われます）")
    for kind, item, change in changed:
        key = f"{prefix}.reason.{kind}.{item}"
        label = f"{KIND_LABELS[kind]}「{md(item_label(pack, kind, item))}」を{CHANGE_LABELS[change]}する理由"   # labels are markdown
        left, right = st.columns([3, 2])
        text = left.text_input(label + ("（前の理由のままなら空で可）" if (kind, item, change) in kept else ""), key=key)
        code = right.selectbox("理由の区分（任意）", codes, index=None, key=f"{key}.code", placeholder="選ばない",
                               format_func=lambda c: pack.label("override_reasons", c)) if codes else None
        reasons[f"{kind}:{item}"] = {"text": text, "code": code}
    owner = None
    if owner_of(case)["agency"] is None:
        agencies = list(dict.fromkeys([*(a for a in [user_agency] if a), *chosen["agencies"], *pack.ids("agencies")]))
        left, right = st.columns(2)
        agency = left.selectbox("主担当の機関", agencies, key=f"{prefix}.owner_agency",
                                format_func=lambda a: pack.label("agencies", a))
        worker = right.text_input("主担当の職員", value=user_id, key=f"{prefix}.owner_worker")
        owner = {"agency": agency, "worker": worker}
    if st.button("振り分けを確定する", type="primary", key=f"{prefix}.confirm"):
        return chosen, reasons, owner
    return None


def referral_rows(pack: Pack, case: Mapping, today: dt.date) -> list[dict]:
    """The case's referrals as a table staff read: where, state, due, answer."""
    rows = []
    for r in referrals_of(case):
        state = STATE_LABELS.get(r.get("state"), str(r.get("state")))
        if is_overdue(r, today):
            state = f"⚠ {state}（期限切れ）"
        rows.append({"つなぎ先": pack.label("agencies", str(r.get("agency"))), "状態": state,
                     "送った日": wareki(r.get("sent_on")), "受理の期限": wareki(r.get("due")),
                     "返事": (r.get("reason") or "") if r.get("state") != "pending" else "",
                     "送った人": r.get("sent_by") or ""})
    return rows


def pending_for(case: Mapping, agency: str | None) -> list[dict[str, Any]]:
    """Referrals of ``case`` waiting for ``agency``'s answer."""
    return [r for r in referrals_of(case) if agency and r.get("agency") == agency and r.get("state") == "pending"]
