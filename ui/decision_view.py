"""How a routing decision looks: where the case goes, and why, in plain Japanese."""
from __future__ import annotations

import streamlit as st

from engine.pack.model import Pack
from engine.rules.sentences import basis_text, proposed_note
from ui import state
from ui.plain import md


def show_decision(pack: Pack, decision: dict) -> None:
    if decision.get("priority") == "urgent":
        st.error("### 【緊急】この相談は緊急です\n当日中に対応を決めてください。", icon="🚨")
    cols = st.columns(3)
    for col, (title, key) in zip(cols, (("事業", "programs"), ("つなぐ機関", "agencies"), ("会議", "meetings"))):
        with col:
            st.markdown(f"#### {title}")
            items = decision.get(key) or []
            if not items:
                st.caption("なし")
            known = set(pack.ids(key))
            for item in items:
                # An old decision may name an agency the roster no longer has: show what was decided.
                name = pack.label(key, item["id"]) if item["id"] in known else f"{item.get('name', item['id'])}（現在の名簿にありません）"
                st.markdown(f"- **{md(name)}**")
            if key == "programs":
                for item in decision.get("proposed_programs") or []:
                    name = pack.label(key, item["id"]) if item["id"] in known else item.get("name", item["id"])
                    st.markdown(f"- 提案: {md(name)}（{md(proposed_note(pack))}）")
    if decision.get("resources"):
        st.markdown("#### 提案する地域資源（参加支援・地域づくり）")
        st.markdown(md("、".join(r["name"] for r in decision["resources"])))
    for warning in decision.get("warnings", []):
        st.warning(md(warning))
    with st.expander("なぜこの振り分けか", expanded=True):
        for i, t in enumerate(decision.get("trace", []), 1):
            st.markdown(f"**{i}. {md(t['label'])}**  \n{md(t['reason'])}")
            st.caption(md(_basis(t)))
            facts = "、".join(f"{_fact_label(pack, k)}: {_fmt(pack, v)}" for k, v in t.get("facts", {}).items())
            if facts:
                st.caption(f"使った事実 — {md(facts)}")
    st.text(f"設定の版: {state.version_name(decision.get('config_version'))}")   # names the publisher: text


def _basis(entry: dict) -> str:
    """Where the rule comes from; an old stored decision without it is shown as unknown, not as policy."""
    if not any(entry.get(k) for k in ("source", "law", "policy")):
        return "根拠: 記録なし（以前の版の判定）"
    return basis_text(entry.get("source"), entry.get("law"))


def _fact_label(pack: Pack, fact: str) -> str:
    info = pack.facts.get(fact)
    return info.label if info else fact


def _fmt(pack: Pack, value) -> str:
    if isinstance(value, bool):
        return "はい" if value else "いいえ"
    if isinstance(value, list):
        labels = {c.id: c.label for name in ("concerns", "fields") for c in pack.choices(name)}
        return "・".join(labels.get(v, str(v)) for v in value)
    labels = {c.id: c.label for name in ("consent", "channels", "areas") for c in pack.choices(name)}
    return labels.get(value, str(value)) if isinstance(value, str) else str(value)
