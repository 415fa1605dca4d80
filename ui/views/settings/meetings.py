"""設定 > 会議: each meeting's purpose, cadence, holiday shift, consent, confidentiality and members.

A cadence that makes no sense (2か月ごと・年12回) is refused by loading the whole draft:
the same Japanese message the CLI gives (engine.pack.meetings.cadence_issues).
"""
import streamlit as st

from engine.casework.calendar import WEEKDAY_JA
from engine.changes.form_change import update_item
from engine.pack.meetings import PER_YEAR, WEEKDAYS
from ui import draft

FILE = "meetings.yaml"
KINDS = {"monthly": "毎月", "bimonthly": "2か月ごと", "on_demand": "随時"}
SHIFTS = {"earlier": "前の開庁日に移す", "later": "次の開庁日に移す"}

st.title("会議の設定")
st.caption("会議の目的・開催周期・構成機関を変更します。変更は下書きに保存され、「公開」するまで使われません。")
pack = draft.pack_or_stop("会議")

meetings = {m.id: m for m in pack.meetings}
meeting_id = st.selectbox("会議", list(meetings), format_func=lambda i: meetings[i].label, key="settings_meetings.meeting")
m = meetings[meeting_id]
cadence = dict(m.get("cadence") or {})
key = f"settings_meetings.{meeting_id}"

label = st.text_input("会議の名前", m.label, key=f"{key}.label").strip()
purpose = st.text_area("目的", m.get("purpose", ""), key=f"{key}.purpose", height=90).strip()

st.subheader("開催周期")
kind = st.selectbox("開き方", list(KINDS), format_func=KINDS.get, key=f"{key}.kind",
                    index=list(KINDS).index(cadence.get("kind", "on_demand")))
new_cadence: dict = {"kind": kind}
if kind != "on_demand":
    c1, c2, c3, c4 = st.columns(4)
    new_cadence["per_year"] = int(c1.number_input("年の回数", 1, 48, int(cadence.get("per_year") or PER_YEAR[kind]),
                                                  key=f"{key}.per_year"))
    weekday = cadence.get("weekday", "thursday")
    new_cadence["weekday"] = c2.selectbox("曜日", WEEKDAYS, index=WEEKDAYS.index(weekday), key=f"{key}.weekday",
                                          format_func=lambda w: f"{WEEKDAY_JA[WEEKDAYS.index(w)]}曜日")
    if cadence.get("weeks"):                      # held more than once a month (weeks: [2, 4])
        new_cadence["weeks"] = c3.multiselect("第何週（月に複数回）", [1, 2, 3, 4, 5], default=list(cadence["weeks"]),
                                              key=f"{key}.weeks", select_all=False, placeholder="選んでください", wrap=True) or [1]
    else:
        new_cadence["week"] = int(c3.number_input("第何週", 1, 5, int(cadence.get("week", 1)), key=f"{key}.week"))
    months = list(range(13))                      # 0: not set (AppTest cannot select a None option)
    new_cadence["start_month"] = c4.selectbox("最初の月", months, index=int(cadence.get("start_month") or 0), key=f"{key}.start_month",
                                              format_func=lambda n: f"{n}月" if n else "指定なし") or None
    placeholder = st.checkbox("曜日・週は仮の値（市が正式な日程を決めるまで）", bool(cadence.get("placeholder")),
                              key=f"{key}.placeholder")
    new_cadence["placeholder"] = True if placeholder else None
shift = st.selectbox("祝日・年末年始に当たったとき", list(SHIFTS), format_func=SHIFTS.get, key=f"{key}.shift",
                     index=list(SHIFTS).index(m.get("holiday_shift", "later")))

st.subheader("同意・守秘・構成機関")
consent = st.checkbox("本人の同意が必要な会議", bool(m.get("consent_required")), key=f"{key}.consent")
confidential = st.checkbox("構成員に守秘義務がある会議", bool(m.get("confidential")), key=f"{key}.confidential")
members = st.multiselect("構成機関", pack.ids("agencies"), default=[a for a in m.get("members", ()) if a in pack.ids("agencies")],
                         format_func=lambda a: pack.label("agencies", a), key=f"{key}.members", select_all=False, placeholder="選んでください", wrap=True)

if st.button("会議の設定を保存する", key=f"{key}.save", type="primary"):
    if not label:
        st.error("会議の名前を入力してください。")
    else:
        # "later" is what an unset holiday_shift means: do not write it where it was not written.
        keep_shift = shift if ("holiday_shift" in m.data or shift != "later") else None
        values = {"label": label, "purpose": purpose or None, "cadence": new_cadence, "holiday_shift": keep_shift,
                  "consent_required": consent, "confidential": confidential, "members": members}
        draft.save_file(FILE, lambda t: update_item(t, "meetings", meeting_id, values), f"会議「{label}」の設定を変更しました。")
