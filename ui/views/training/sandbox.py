"""研修 > 練習の相談受付: the live intake form and decision display, saved to the practice store."""
import streamlit as st

from ui import state
from ui.decision_view import show_decision
from ui.form_view import clear_form
from ui.intake_form import intake_form
from ui.views.training.common import banner, training_repo

banner()
pack, repo = state.pack(), training_repo()
form = pack.intake
PREFIX = "sandbox"

st.title("練習の相談受付")
st.caption("本番と同じ相談受付票と振り分けで練習します。保存先は研修用で、ケース一覧・会議・ダッシュボード・出力には出ません。"
           "練習には架空の人を使ってください（実在の人の氏名・住所・電話番号は入れないでください）。")

last = st.session_state.get("sandbox.__saved")
if last:
    st.success(f"練習ケース {last['id']} を研修用の保存先に保存しました。")
    show_decision(pack, last["decision"])
    if st.button("次の練習をする", type="primary"):
        del st.session_state["sandbox.__saved"]
        clear_form(form.fields, PREFIX)
        st.rerun()
    st.caption(f"研修用の保存先にある練習ケース: {repo.count_cases()} 件")
    st.stop()

intake_form(pack, repo, PREFIX, "練習として受け付けて振り分ける", actor=st.session_state.get("user", "trainee"))
st.caption(f"研修用の保存先にある練習ケース: {repo.count_cases()} 件")
