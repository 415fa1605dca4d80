"""ケース詳細: the case, where it goes and why, its status, plan, resources and timeline."""
import streamlit as st

from engine.casework.access import AccessError
from engine.casework.wareki import wareki
from engine.casework.workflow import add_note, allowed_next, change_status, connect_resource, redecide, save_plan
from engine.errors import CaseError, ConflictError, TsunaguError
from ui import auth, state
from ui.plain import heading, md
from ui.case_view import event_text, intake_rows
from ui.decision_view import show_decision
from ui.form_view import jsonable, prefill, render_form

pack, repo = state.pack(), auth.repo()
actor = st.session_state.get("user", "staff")
case_id = st.query_params.get("id") or st.session_state.get("case_id")
st.title("ケース詳細")
if not case_id:
    st.info("「ケース一覧」からケースを選んでください。")
    st.stop()
try:
    case = repo.get_case(case_id)
except AccessError as err:
    st.error(str(err))
    st.stop()
if case is None:
    st.error(f"ケース {case_id} は見つかりません。削除されたか、IDが違います。ケース一覧から開き直してください。")
    st.stop()
st.session_state["case_id"] = case_id
# The revision this staff member is looking at: kept across reruns, so a save made by
# someone else meanwhile is detected instead of silently overwritten.
seen_key = f"case.{case_id}.revision"
revision = st.session_state.setdefault(seen_key, case.get("revision"))
if revision != case.get("revision"):
    st.warning(f"このケースは、開いた後に他の職員が更新しました（版 {revision} → {case.get('revision')}）。"
               "下の内容は最新です。変更する前に内容を確かめてください。", icon="⚠️")
    if st.button("最新の内容で作業を続ける"):
        st.session_state[seen_key] = case.get("revision")
        st.rerun()
notice = st.session_state.pop("case.__notice", None)
if notice:
    st.success(notice)


def attempt(action, success: str) -> None:
    """Run a change with the revision this page was drawn from; explain conflicts."""
    try:
        stored = action()
    except ConflictError as err:
        st.error(f"{err}", icon="⚠️")
    except CaseError as err:
        st.session_state["case.__errors"] = {i.key: i.render() for i in err.issues}
        st.rerun()
    except TsunaguError as err:
        st.error(str(err))
    else:
        if isinstance(stored, dict) and stored.get("id") == case_id and "revision" in stored:
            st.session_state[seen_key] = stored["revision"]
        st.session_state.pop("case.__errors", None)
        st.session_state["case.__notice"] = success
        st.rerun()


intake = case.get("intake", {})
decision = case.get("decision", {})
person = intake.get("person", {})
status = case.get("status", pack.initial_status)
heading(f"{case_id}　{person.get('name') or '（氏名未入力）'}")
st.caption(f"状態: {pack.label('statuses', status)}　受付日: {wareki(intake.get('received_on'))}　"
           f"圏域: {pack.label('areas', intake['area']) if intake.get('area') else '—'}　版: {revision}")

tabs = st.tabs(["振り分け", "相談内容", "状態", "支援プラン", "地域資源", "メモ", "経過"])

with tabs[0]:
    show_decision(pack, decision)
    if case.get("config_version") != pack.version:
        st.info(f"この振り分けは以前の設定（版 {case.get('config_version')}）によるものです。"
                f"現在の設定は版 {pack.version} です。「再判定」で現在の設定で振り分け直せます。")
    if st.button("再判定（現在の設定と相談内容で振り分け直す）"):
        attempt(lambda: redecide(repo, pack, case_id, actor, expected_revision=revision),
                "再判定しました。前の振り分けは経過に残っています。")

with tabs[1]:
    for label, text in intake_rows(pack, pack.intake.fields, intake):
        left, right = st.columns([1, 3])
        left.markdown(f"**{md(label)}**")
        right.text(text)                      # typed by staff: shown as text, never as markdown

with tabs[2]:
    options = allowed_next(pack, status)
    if not options:
        st.info(f"「{pack.label('statuses', status)}」は終わりの状態です。")
    else:
        target = st.selectbox("次の状態", options, format_func=lambda s: pack.label("statuses", s), index=None,
                              placeholder="選択してください")
        note = st.text_input("変更の理由（任意）", key="case.status_note")
        if st.button("状態を変更する", disabled=target is None):
            attempt(lambda: change_status(repo, pack, case_id, target, actor, expected_revision=revision, note=note),
                    f"状態を「{pack.label('statuses', target)}」に変更しました。")

with tabs[3]:
    if st.session_state.get("case.__errors"):
        st.error("入力に誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
    prefix = f"plan.{case_id}"
    prefill(pack.forms["plan"].fields, prefix, case.get("plan", {}))
    raw = render_form(pack, pack.forms["plan"].fields, prefix, st.session_state.get("case.__errors", {}))
    if st.button("支援プランを保存する", type="primary"):
        attempt(lambda: save_plan(repo, pack, case_id, jsonable(raw), actor, expected_revision=revision),
                "支援プランを保存しました。")

with tabs[4]:
    suggested = decision.get("resources", [])
    connected = {c["resource"] for c in case.get("connections", [])}
    if suggested:
        st.markdown("振り分けで提案された地域資源: " + md("、".join(r["name"] for r in suggested)))
    choice = st.selectbox("つなぐ地域資源", pack.ids("resources"), format_func=lambda r: pack.label("resources", r),
                          index=None, placeholder="選択してください")
    resource_note = st.text_input("つなぎのメモ（任意）", key="case.resource_note")
    if st.button("つなぎを記録する", disabled=choice is None):
        attempt(lambda: connect_resource(repo, pack, case_id, choice, actor, resource_note, expected_revision=revision),
                f"「{pack.label('resources', choice)}」へのつなぎを記録しました。")
    for r in sorted(connected):
        st.markdown(f"- つないだ資源: {md(pack.label('resources', r))}")

with tabs[5]:
    text = st.text_area("メモ", key="case.note")
    if st.button("メモを追加する"):
        attempt(lambda: add_note(repo, case_id, text, actor), "メモを追加しました。")

with tabs[6]:
    for event in reversed(repo.events(case_id)):
        st.text(f"・{wareki(str(event.get('at', ''))[:10])} {str(event.get('at', ''))[11:16]}　{event_text(pack, event)}"
                f"　（{event.get('by', '')}）")
