"""相談受付: the 相談受付票 from forms/intake.yaml, then where the case goes and why."""
import streamlit as st

from ui import auth, state
from ui.decision_view import show_decision
from ui.form_view import clear_form
from ui.intake_form import intake_form

pack, repo = state.pack(), auth.repo()
form = pack.intake
PREFIX = "intake"

st.title("相談受付")
st.caption("属性や世代を問わず、すべての相談を受け止めます。入力すると、つなぐ先とその理由がすぐに分かります。")

last = st.session_state.get("intake.__saved")
if last:
    st.success(f"ケース {last['id']} を保存しました。")
    show_decision(pack, last["decision"])
    left, right = st.columns(2)
    if left.button("このケースを開く", type="primary"):
        st.session_state["case_id"] = last["id"]
        st.switch_page("views/consult/case.py")
    if right.button("次の相談を受け付ける"):
        del st.session_state["intake.__saved"]
        clear_form(form.fields, PREFIX)
        st.rerun()
    st.stop()

intake_form(pack, repo, PREFIX, "受け付けて振り分ける", actor=st.session_state.get("user", "staff"))
