"""会議: the meeting calendar (iCal), a meeting's agenda, and the 会議記録 written back to cases."""
import datetime as dt

import streamlit as st

from engine.casework.calendar import (
    WEEKDAY_JA,
    CalendarError,
    by_date,
    closed_reason,
    is_on_demand,
    next_occurrence,
    occurrences,
    on_demand_occurrences,
    open_on_demand,
    previous_occurrence,
    to_ical,
)
from engine.casework.wareki import today as jst_today, wareki
from engine.casework.workflow import WorkflowError, record_date, record_outcome
from engine.errors import CaseError, ConflictError, StorageError
from ui import auth, state
from ui.plain import md
from ui.form_view import clear_form, issue_text, jsonable, render_form

pack, repo = state.pack(), auth.repo()
meetings = {m.id: m for m in pack.meetings}
form = pack.forms["meeting_record"]
user = st.session_state.get("user", "staff")
today = jst_today()

st.title("会議")
st.caption("会議の開催予定、会議で協議するケース（議題）、会議の結果の記録。結果はケースの状態に反映されます。")

try:
    opened = on_demand_occurrences(repo)
except CalendarError as err:
    st.error(str(err))
    opened = []

# -- 開催予定 ------------------------------------------------------------------
st.subheader("開催予定（今後12か月）")
sessions = sorted([*occurrences(pack, today, 12), *(o for o in opened if o.date >= today)], key=by_date)
shown = st.multiselect("表示する会議", list(meetings), key="meetings.filter", placeholder="すべての会議",
                       format_func=lambda i: meetings[i].label, select_all=False, wrap=True)
if shown:
    sessions = [o for o in sessions if o.meeting_id in shown]
if sessions:
    # 和暦 only and fixed widths: at 1024 px the date and the whole meeting name fit.
    st.dataframe([{"日付": f"{wareki(o.date, western=False)}（{WEEKDAY_JA[o.date.weekday()]}）", "会議": o.label,
                   "備考": o.note()} for o in sessions], hide_index=True, width="stretch",
                 column_config={"日付": st.column_config.TextColumn(width=150),
                                "会議": st.column_config.TextColumn(width=410)})
else:
    st.info("この期間に予定された会議はありません。随時開催の会議は、開催が決まったときに下で日程を登録します。")
if any((m.get("cadence") or {}).get("placeholder") for m in pack.meetings):
    st.caption("定例会議の曜日・週は仮の設定です（「設定 > 会議の設定」で変えられます）。祝日・年末年始に当たる日は自動で移します。")
st.download_button("カレンダーに取り込む（iCal）", to_ical(sessions, pack), file_name="tsunagu-meetings.ics",
                   mime="text/calendar", key="meetings.ical")

# -- 会議を選ぶ ----------------------------------------------------------------
st.divider()
meeting_id = st.selectbox("会議", list(meetings), key="meetings.meeting", format_func=lambda i: meetings[i].label)
m = meetings[meeting_id]
if m.get("purpose"):
    st.markdown(md(m.get("purpose")))
upcoming = next_occurrence(pack, meeting_id, today, opened)
if upcoming:
    moved = f"　※{upcoming.note()}" if upcoming.shifted else ""
    st.markdown(f"**次回** {wareki(upcoming.date)}（{WEEKDAY_JA[upcoming.date.weekday()]}）{moved}")
elif is_on_demand(m):
    st.markdown("**随時開催**　開催が決まったら、開催日を登録してください。")
if m.get("confidential"):
    st.warning(f"🔒 {m.label}の構成員には守秘義務があります（{m.get('legal_basis') or '社会福祉法 第106条の6'}）。"
               "会議で共有した情報は、構成員以外に伝えないでください。")
if is_on_demand(m):
    with st.container(border=True):
        day = st.date_input("開催する日", value=today, key="meetings.open_on", format="YYYY-MM-DD")
        if day and closed_reason(day):
            st.caption(f"⚠️ {wareki(day)} は{closed_reason(day)}です。")
        if st.button(f"{m.label}を開催する", key="meetings.open"):
            try:
                open_on_demand(repo, pack, meeting_id, day, user)
            except (CalendarError, StorageError) as err:
                st.error(f"開催日を登録できませんでした。{err}")
            else:
                st.session_state["meetings.__notice"] = ("success", f"{m.label}を {wareki(day)} に開催します。開催予定に加えました。")
                st.rerun()

# -- 議題 ----------------------------------------------------------------------
st.divider()
notice = st.session_state.pop("meetings.__notice", None)
if notice:
    kind, text = notice
    (st.success if kind == "success" else st.error)(text)
st.subheader(f"議題　{m.label}")
if not repo.count_cases():
    st.info("まだケースがありません。「相談受付」で相談を受け付けると、会議で協議するケースがここに並びます。")
    st.stop()
# Of each case on the agenda only what the table and the picker show, kept per shard until it
# changes (ScopedRepository.agenda); the case chosen for the record is read on its own below.
items = repo.agenda(meeting_id)
if not items:
    st.info(f"{m.label}で協議を待っているケースはありません。")
    st.stop()


def priority(row: dict) -> str:
    p = row["priority"]
    return f"🚨 {pack.label('priorities', p)}" if p == "urgent" else pack.label("priorities", p)


st.dataframe([{
    "ケース番号": row["id"],
    "受付日": wareki(row["received_on"], western=False),
    "優先度": priority(row),
    "状態": pack.label("statuses", row["status"]),
    "支援プラン": "あり" if row["plan"] else "なし",
    "事業": row["programs"],
} for row in items], hide_index=True, width="stretch", column_config={"ケース番号": st.column_config.TextColumn(width=150)})
if m.get("agenda") == "cases_with_plan" and not all(row["plan"] for row in items):
    # The office's name is the pack's (configurable) text: shown as text, not markdown.
    st.text(f"支援プランが「なし」のケースは、会議の前に{pack.label('divisions', pack.info['city']['office'])}がプランを作成します。")

# -- 会議記録 ------------------------------------------------------------------
st.subheader("会議の結果を記録する")
by_id = {c["id"]: c for c in items}
if st.session_state.get("meetings.case") not in by_id:
    # The case left the agenda (its outcome was recorded): nothing is selected any more.
    st.session_state.pop("meetings.case", None)
case_id = st.selectbox("記録するケース", list(by_id), index=None, key="meetings.case", placeholder="ケースを選択",
                       format_func=lambda i: f"{i}（{priority(by_id[i])}・{pack.label('statuses', by_id[i].get('status', ''))}）")
if case_id is None:
    st.caption("ケースを選ぶと、会議記録の入力欄が出ます。")
    st.stop()

case = repo.reachable_case(case_id)
if case is None:
    st.warning("このケースは見つからないか、見る権限がなくなりました。ページを読み込み直してください。")
    st.stop()

prefix = f"meeting_record.{meeting_id}.{case_id}"
if f"{prefix}.meeting" not in st.session_state:
    # A freshly opened form: remember the revision staff are looking at, so a save
    # over someone else's newer save is refused instead of silently overwriting it.
    held = previous_occurrence(pack, meeting_id, today, opened)
    st.session_state[f"{prefix}.meeting"] = meeting_id
    # The session being recorded if it was this week and after the case came in; else today.
    st.session_state[f"{prefix}.held_on"] = record_date(case, held.date if held else None, today)
    st.session_state[f"{prefix}.__revision"] = case["revision"]

errors = st.session_state.get(f"{prefix}.__errors", {})
raw = render_form(pack, form.fields, prefix, errors)
held_on = raw.get("held_on")
future = isinstance(held_on, dt.date) and held_on > today
if future:
    st.warning(f"開催日が今日より後の日付（{wareki(held_on)}）です。会議の結果は、会議を開いたあとに記録してください。")
    future_ok = st.checkbox("この開催日のまま記録する", key=f"{prefix}.__future_ok")
if st.button("結果を記録する", type="primary", key="meetings.record"):
    if future and not future_ok:
        st.error("開催日が未来の日付です。日付を直すか、「この開催日のまま記録する」にチェックを入れてください。")
        st.stop()
    try:
        stored = record_outcome(repo, pack, case_id, jsonable(raw), actor=user,
                                expected_revision=st.session_state[f"{prefix}.__revision"])
    except CaseError as err:
        st.session_state[f"{prefix}.__errors"] = {i.key: issue_text(i) for i in err.issues}
        st.rerun()
    except ConflictError as err:
        # Reload: the next save is checked against what is stored now; the typed values stay.
        st.session_state[f"{prefix}.__revision"] = (repo.get_case(case_id) or {}).get("revision")
        st.error(f"{err}（最新の内容を読み込み直しました。入力した内容は残っています。）")
    except (WorkflowError, StorageError) as err:
        st.error(f"記録できませんでした。入力した内容は残っています。{err}")
    else:
        clear_form(form.fields, prefix)
        st.session_state["meetings.__notice"] = (
            "success", f"ケース {case_id} に会議の結果を記録しました。状態: {pack.label('statuses', stored.get('status', ''))}")
        st.rerun()
if errors:
    st.error(f"入力に {len(errors)} 件の誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
