"""相談受付: the 相談受付票 from forms/intake.yaml, then the recommended routing, why, and its confirmation."""

import streamlit as st

from engine.casework.handoff import confirm_case
from engine.casework.wareki import today as jst_today
from engine.errors import TsunaguError
from ui import auth, state
from ui.decision_view import show_decision
from ui.form_view import clear_form
from ui.handoff_view import confirm_form
from ui.intake_form import intake_form

pack, repo = state.pack(), auth.repo()
form = pack.intake
PREFIX = "intake"

st.title("相談受付")
st.caption("属性や世代を問わず、すべての相談を受け止めます。入力すると、つなぐ先とその理由がすぐに分かります。")

last = st.session_state.get("intake.__saved")
if last:
    st.success(f"ケース {last['id']} を保存しました。下は推薦です。確かめて確定してください。")
    show_decision(pack, last["decision"])
    access = repo.access
    if last.get("confirmed"):
        st.success("振り分けを確定しました。つなぎ先の機関に受理をお願いしました（ケース詳細の「つなぎ・主担当」で状態が分かります）。")
    elif access.can("confirm_routing"):
        st.markdown("#### 振り分けを確定する")
        picked = confirm_form(pack, last, f"intake.confirm.{last['id']}", access.user.agency, access.user.id,
                              access.can("override_routing"))
        if picked:
            chosen, reasons, owner = picked
            try:
                st.session_state["intake.__saved"] = confirm_case(repo, pack, last["id"], chosen, reasons, access.user.id,
                                                                  access.user.agency, jst_today(), owner,
                                                                  expected_revision=last.get("revision"))
            except TsunaguError as err:
                st.error(str(err))
            else:
                st.rerun()
    else:
        st.info("振り分けの確定は、確定の権限がある職員が「ケース詳細」で行います。")
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
