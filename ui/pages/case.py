"""ケース詳細: the case, its decision and why, and its history."""
import streamlit as st

from engine.wareki import wareki
from ui import state
from ui.decision_view import show_decision

pack, repo = state.pack(), state.repo()
case_id = st.query_params.get("id") or st.session_state.get("case_id")
st.title("ケース詳細")
if not case_id:
    st.info("「ケース一覧」からケースを選んでください。")
    st.stop()
case = repo.get_case(case_id)
if case is None:
    st.error(f"ケース {case_id} は見つかりません。削除されたか、IDが違います。")
    st.stop()
intake = case.get("intake", {})
st.subheader(f"{case_id}　{pack.label('statuses', case.get('status', ''))}")
st.caption(f"受付日 {wareki(intake.get('received_on'))}　版 {case.get('revision')}")
show_decision(pack, case.get("decision", {}))
st.markdown("#### 経過")
for event in repo.events(case_id):
    st.markdown(f"- {wareki(event.get('at', '')[:10])} {event.get('type')}")
