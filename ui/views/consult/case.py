"""ケース詳細: the case, its recommended and confirmed routing, referrals and owner, status, plan,
resources and timeline."""

import pandas as pd
import streamlit as st

from engine.casework.duties import next_due
from engine.casework.handoff import answer_case, confirm_case, reassign_case
from engine.casework.referrals import owner_of
from engine.casework.wareki import today as jst_today, wareki, wareki_time
from engine.casework.workflow import (
    add_note,
    allowed_next,
    change_status,
    connect_resource,
    correct_intake,
    redecide,
    save_plan,
)
from engine.errors import CaseError, ConflictError, TsunaguError
from ui import auth, state
from ui.plain import heading, md
from ui.case_view import event_text, intake_rows
from ui.decision_view import show_decision
from ui.form_view import issue_text, jsonable, prefill, render_form
from ui.handoff_view import confirm_form, pending_for, referral_rows, side_by_side

# Arrived: the lists that sent staff here keep asking to come until this page has run (a rerun that
# interrupted the switch would otherwise leave them on the list with nothing opened).
for _flag in ("cases.go", "todo.go"):
    st.session_state.pop(_flag, None)
pack, repo = state.pack(), auth.repo()
actor = st.session_state.get("user", "staff")
case_id = st.query_params.get("id") or st.session_state.get("case_id")
st.title("ケース詳細")
if not case_id:
    st.info("「ケース一覧」からケースを選んでください。")
    st.stop()
case = repo.reachable_case(case_id)
if case is None:                # the same words either way: a refusal must not confirm that an id exists
    st.error("このケースは見つからないか、見る権限がありません。ケース一覧から開き直してください。")
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
        st.session_state["case.__errors"] = {i.key: issue_text(i) for i in err.issues}
        st.rerun()
    except TsunaguError as err:
        st.error(str(err))
    else:
        if isinstance(stored, dict) and stored.get("id") == case_id and "revision" in stored:
            st.session_state[seen_key] = stored["revision"]
        st.session_state.pop("case.__errors", None)
        if st.session_state.pop("case.__fixing", None):          # the correction is saved: back to reading
            st.session_state["case.__offer_redecide"] = case_id
            for key in [k for k in st.session_state if str(k).startswith((f"correct.{case_id}.", f"case.{case_id}.correct"))]:
                del st.session_state[key]
        st.session_state["case.__notice"] = success
        st.rerun()


intake = case.get("intake", {})
decision = case.get("decision", {})
person = intake.get("person", {})
status = case.get("status", pack.initial_status)
heading(f"{case_id}　{person.get('name') or '（氏名未入力）'}")
today = jst_today()
owner = owner_of(case)
due = next_due(pack, case)
st.caption(f"状態: {pack.label('statuses', status)}　受付日: {wareki(intake.get('received_on'))}　"
           f"圏域: {pack.label('areas', intake['area']) if intake.get('area') else '—'}　版: {revision}")
# The worker's name is typed by staff: shown as text.
st.text(f"主担当: {pack.label('agencies', owner['agency']) + '（' + (owner['worker'] or '') + '）' if owner['agency'] else '未定'}　"
        f"次の期限: {wareki(due.isoformat()) if due else '—'}{'（期限切れ）' if due and due < today else ''}")
access = repo.access

# Keyed and tracked, so the tab staff were working in stays open after a save reruns the page.
tabs = st.tabs(["振り分け", "つなぎ・主担当", "相談内容", "状態", "支援プラン", "地域資源", "メモ", "経過"], key="case.tab",
               on_change="rerun")

with tabs[0]:
    st.markdown("#### 推薦と確定した振り分け")
    side_by_side(pack, case)
    if access.can("confirm_routing"):
        with st.expander("振り分けを確定する" if not case.get("confirmed") else "確定した振り分けを変える",
                         expanded=not case.get("confirmed")):
            picked = confirm_form(pack, case, f"case.confirm.{case_id}", access.user.agency, access.user.id,
                                  access.can("override_routing"))
            if picked:
                chosen, reasons, new_owner = picked
                attempt(lambda: confirm_case(repo, pack, case_id, chosen, reasons, actor, access.user.agency, today,
                                             new_owner, expected_revision=revision),
                        "振り分けを確定しました。つなぎ先の機関に受理をお願いしました。")
    st.markdown("#### 推薦（ルールの答え）")
    show_decision(pack, decision)
    if case.get("config_version") != pack.version:
        st.info("この推薦は以前の設定によるものです。「再判定」で現在の設定で推薦を出し直せます。")
        # Version labels name their publisher (typed text): shown as text.
        st.text(f"推薦の設定: {state.version_name(case.get('config_version'))}　現在の設定: {state.version_name(pack.version)}")
    if st.button("再判定（現在の設定と相談内容で推薦を出し直す。確定した振り分けは変えません）"):
        attempt(lambda: redecide(repo, pack, case_id, actor, expected_revision=revision),
                "再判定しました。確定した振り分けはそのままです。前の推薦は経過に残っています。")

with tabs[1]:
    rows = referral_rows(pack, case, today)
    if rows:
        # A plain table: a handful of rows, read (and found by the browser test) as text.
        st.table(pd.DataFrame(rows).set_index("つなぎ先"))
    else:
        st.info("つなぎはまだありません。振り分けを確定すると、確定した機関へのつなぎができます。")
    for ref in pending_for(case, access.user.agency):
        with st.container(border=True):
            st.markdown(f"**{md(pack.label('agencies', ref['agency']))}あてのつなぎ（受理の期限 {wareki(ref.get('due'))}）**")
            reason = st.text_input("返送する理由（返送のときは必須）", key=f"case.ref.{ref['id']}.reason")
            codes = pack.ids("return_reasons")
            code = st.selectbox("返送の理由の区分（任意）", codes, index=None, key=f"case.ref.{ref['id']}.code",
                                format_func=lambda c: pack.label("return_reasons", c), placeholder="選ばない") if codes else None
            left, right = st.columns(2)
            if left.button("受理する", type="primary", key=f"case.ref.{ref['id']}.accept"):
                attempt(lambda r=ref: answer_case(repo, pack, case_id, r["id"], True, actor, today=today,
                                                  expected_revision=revision), "つなぎを受理しました。")
            if right.button("返送する", key=f"case.ref.{ref['id']}.return"):
                attempt(lambda r=ref: answer_case(repo, pack, case_id, r["id"], False, actor, reason, code, today,
                                                  expected_revision=revision), "つなぎを返送しました。送った機関に理由が伝わります。")
    st.markdown("#### 主担当")
    if owner["agency"]:
        st.text(f"{pack.label('agencies', owner['agency'])}　{owner['worker'] or ''}")
    else:
        st.caption("主担当は振り分けを確定するときに決まります。")
    if owner["agency"] and access.can("reassign_owner"):
        with st.expander("主担当を変える"):
            agencies = pack.ids("agencies")
            new_agency = st.selectbox("機関", agencies, index=agencies.index(owner["agency"]) if owner["agency"] in agencies else 0,
                                      key="case.owner.agency", format_func=lambda a: pack.label("agencies", a))
            worker = st.text_input("担当の職員", value=owner["worker"] or "", key="case.owner.worker")
            why = st.text_input("変える理由（必須）", key="case.owner.reason")
            if st.button("主担当を変える", key="case.owner.save"):
                attempt(lambda: reassign_case(repo, pack, case_id, new_agency, worker, why, actor, today,
                                              expected_revision=revision), "主担当を変えました。")

with tabs[2]:
    if st.session_state.get("case.__offer_redecide") == case_id:
        st.info("受付内容を訂正しました。推薦はまだ前のままです。訂正した内容で推薦を出し直しますか（確定した振り分けは変えません）。")
        if st.button("訂正した内容で再判定する", type="primary"):
            st.session_state.pop("case.__offer_redecide", None)
            attempt(lambda: redecide(repo, pack, case_id, actor, expected_revision=revision),
                    "再判定しました。確定した振り分けはそのままです。前の推薦は経過に残っています。")
    if not st.toggle("受付内容を訂正する", key=f"case.{case_id}.correcting"):
        for label, text in intake_rows(pack, pack.intake.fields, intake):
            left, right = st.columns([1, 3])
            left.markdown(f"**{md(label)}**")
            right.text(text)                      # typed by staff: shown as text, never as markdown
    else:
        fix_prefix = f"correct.{case_id}"
        prefill(pack.intake.fields, fix_prefix, intake)
        fix_errors = st.session_state.get("case.__errors", {}) if st.session_state.get("case.__fixing") else {}
        if fix_errors:
            st.error(f"入力に {len(fix_errors)} 件の誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
        fixed = render_form(pack, pack.intake.fields, fix_prefix, fix_errors)
        why = st.text_input("訂正の理由（必須）", key=f"case.{case_id}.correct_reason", placeholder="例: 年齢の聞き違い")
        if st.button("訂正を保存する", type="primary"):
            st.session_state["case.__fixing"] = True
            attempt(lambda: correct_intake(repo, pack, case_id, jsonable(fixed), why, actor, expected_revision=revision),
                    "受付内容を訂正しました。経過に理由とともに残っています。")

with tabs[3]:
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

with tabs[4]:
    if st.session_state.get("case.__errors"):
        st.error("入力に誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
    prefix = f"plan.{case_id}"
    prefill(pack.forms["plan"].fields, prefix, case.get("plan", {}))
    raw = render_form(pack, pack.forms["plan"].fields, prefix, st.session_state.get("case.__errors", {}))
    if st.button("支援プランを保存する", type="primary"):
        attempt(lambda: save_plan(repo, pack, case_id, jsonable(raw), actor, expected_revision=revision),
                "支援プランを保存しました。")

with tabs[5]:
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

with tabs[6]:
    text = st.text_area("メモ", key="case.note")
    if st.button("メモを追加する"):
        attempt(lambda: add_note(repo, case_id, text, actor), "メモを追加しました。")

with tabs[7]:
    # Staff-typed text (notes, reasons) is in these lines: shown as text, never as markdown.
    for event in reversed(repo.events(case_id)):
        st.text(f"・{wareki_time(event.get('at'))}　{event_text(pack, event, state.version_name)}"
                f"　（{event.get('by', '')}）")
