"""ケース一覧: every case, newest first."""
import streamlit as st

from engine.wareki import wareki
from ui import state

pack, repo = state.pack(), state.repo()
st.title("ケース一覧")
cases = repo.list_cases()
if not cases:
    st.info("まだケースがありません。「相談受付」から相談を受け付けてください。")
    st.stop()
cases.sort(key=lambda c: (c.get("intake", {}).get("received_on", ""), c["id"]), reverse=True)
rows = [{
    "ID": c["id"],
    "受付日": wareki(c.get("intake", {}).get("received_on")),
    "状態": pack.label("statuses", c.get("status", "")),
    "優先度": pack.label("priorities", c.get("decision", {}).get("priority", "normal")),
    "事業": "、".join(p["name"] for p in c.get("decision", {}).get("programs", [])),
    "会議": "、".join(m["name"] for m in c.get("decision", {}).get("meetings", [])),
} for c in cases]
st.dataframe(rows, hide_index=True, use_container_width=True)
choice = st.selectbox("ケースを開く", [c["id"] for c in cases], index=None, placeholder="ケースIDを選択")
if choice:
    st.session_state["case_id"] = choice
    st.switch_page("pages/case.py")
