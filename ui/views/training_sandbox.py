"""研修 > 練習の相談受付: the live intake form and decision display, saved to the practice store."""
import datetime as dt

import streamlit as st

from engine.cases import take_intake
from engine.errors import CaseError, StorageError
from engine.training import missing_shown
from ui import state
from ui.decision_view import show_decision
from ui.form_view import clear_form, jsonable, render_form
from ui.views.training_common import banner, training_repo

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

if f"{PREFIX}.received_on" not in st.session_state:
    st.session_state[f"{PREFIX}.received_on"] = dt.date.today()

errors = st.session_state.get("sandbox.__errors", {})
raw = render_form(pack, form.fields, PREFIX, errors)

if st.button("練習として受け付けて振り分ける", type="primary"):
    case = jsonable(raw)
    problems = missing_shown(pack, case)     # the live page also asks for hidden fields (圏域 of a non-resident)
    try:
        if problems:
            raise CaseError(problems)
        stored, _ = take_intake(repo, pack, case, actor=st.session_state.get("user", "trainee"))
    except CaseError as err:
        st.session_state["sandbox.__errors"] = {i.key: i.render() for i in err.issues}
        st.rerun()
    except StorageError as err:
        st.error(f"保存できませんでした。入力内容はそのまま残っています。{err}")
    else:
        st.session_state.pop("sandbox.__errors", None)
        st.session_state["sandbox.__saved"] = stored
        st.rerun()
if errors:
    st.error(f"入力に {len(errors)} 件の誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
st.caption(f"研修用の保存先にある練習ケース: {repo.count_cases()} 件")
