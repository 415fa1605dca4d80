"""相談受付: the 相談受付票 from forms/intake.yaml, then where the case goes and why."""
import datetime as dt

import streamlit as st

from engine.cases import take_intake
from engine.errors import CaseError, StorageError
from engine.facts import missing_required
from ui import state
from ui.decision_view import show_decision
from ui.form_view import clear_form, jsonable, render_form

pack, repo = state.pack(), state.repo()
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
        st.switch_page("views/case.py")
    if right.button("次の相談を受け付ける"):
        del st.session_state["intake.__saved"]
        clear_form(form.fields, PREFIX)
        st.rerun()
    st.stop()

if f"{PREFIX}.received_on" not in st.session_state:
    st.session_state[f"{PREFIX}.received_on"] = dt.date.today()

errors = st.session_state.get("intake.__errors", {})
raw = render_form(pack, form.fields, PREFIX, errors)

if st.button("受け付けて振り分ける", type="primary"):
    case = jsonable(raw)
    problems = missing_required(form.fields, case)
    try:
        if problems:
            raise CaseError(problems)
        stored, _ = take_intake(repo, pack, case, actor=st.session_state.get("user", "staff"))
    except CaseError as err:
        st.session_state["intake.__errors"] = {i.key: i.render() for i in err.issues}
        st.rerun()
    except StorageError as err:
        st.error(f"保存できませんでした。入力内容はそのまま残っています。{err}")
    else:
        st.session_state.pop("intake.__errors", None)
        st.session_state["intake.__saved"] = stored
        st.rerun()
if errors:
    st.error(f"入力に {len(errors)} 件の誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
