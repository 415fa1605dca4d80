"""今日やること: what is overdue or due this week for me and my agency, the referrals waiting for
my agency's answer (受付待ちのつなぎ), and the state of the referrals I sent."""

import streamlit as st

from engine.casework import referrals
from engine.casework.duties import WEEK
from engine.casework.wareki import today as jst_today, wareki
from ui import auth, state
from ui.handoff_view import referral_rows
from ui.plain import md

pack, repo = state.pack(), auth.repo()
user = repo.access.user
today = jst_today()
st.title("今日やること")
# The account's name is typed by an administrator: escaped inside the caption's markdown.
st.caption(f"{wareki(today.isoformat())}　{md(user.name)}"
           + (f"（{md(pack.label('agencies', user.agency))}）" if user.agency else "（所属機関なし: 自分が主担当・送ったものだけ）"))


# Read once per shard and kept until the shard changes (ScopedRepository.todo_lists): a rerun reads no case.
lists = repo.todo_lists(today, WEEK)
items, inbox, sent, names = lists.items, lists.inbox, lists.sent, lists.names


def open_case(key: str) -> None:
    chosen = st.session_state.get(key)
    if chosen:
        st.session_state["case_id"] = chosen
        st.session_state[key] = None
        st.session_state["todo.go"] = True


if st.session_state.get("todo.go"):              # cleared by ケース詳細 once it runs
    st.switch_page("views/consult/case.py")

overdue = sum(t.overdue for t in items)
returned = sum(t.kind == "returned" for t in items)
cols = st.columns(4)
cols[0].metric("期限切れ", overdue)
cols[1].metric("今週が期限", len(items) - overdue - returned)
cols[2].metric("受付待ちのつなぎ", len(inbox))
cols[3].metric("返送されたつなぎ", returned)

MARKS = {"returned": "↩ 返送"}
st.markdown("#### 期限切れ・今週が期限・返送されたつなぎ")
if not items:
    st.success("期限切れのもの、今週が期限のもの、見直しを待つ返送はありません。")
else:
    st.dataframe([{"": "⚠ 期限切れ" if t.overdue else MARKS.get(t.kind, "今週"), "期限（返送は返送日）": wareki(t.due), "ケース": t.case_id,
                   "氏名": names.get(t.case_id, ""), "やること": t.what} for t in items], hide_index=True)

st.markdown("#### 受付待ちのつなぎ（自分の機関あて）")
if not user.agency:
    st.caption("所属機関のあるアカウントに、その機関あてのつなぎが届きます。")
elif not inbox:
    st.info("受付待ちのつなぎはありません。")
else:
    st.dataframe([{"ケース": cid, "氏名": names.get(cid, ""), "送った日": wareki(r.get("sent_on")),
                   "受理の期限": wareki(r.get("due")) + ("（期限切れ）" if referrals.is_overdue(r, today) else ""),
                   "送った人": r.get("sent_by") or ""} for cid, r in inbox], hide_index=True)
    st.caption("ケースを開き、「つなぎ・主担当」で受理するか、理由をつけて返送してください。")

st.markdown("#### 送ったつなぎ")
if not sent:
    st.caption("自分（または自分の機関）が送ったつなぎはありません。")
else:
    rows = []
    for cid, r in sent:
        row = referral_rows(pack, {"referrals": [r]}, today)[0]
        rows.append({"ケース": cid, "氏名": names.get(cid, ""), **row})
    st.dataframe(rows, hide_index=True)

choices = list(dict.fromkeys([*(t.case_id for t in items), *(cid for cid, _ in inbox), *(cid for cid, _ in sent)]))
if choices:
    st.selectbox("ケースを開く", choices, index=None, placeholder="ケース番号を選択", key="todo.open",
                 format_func=lambda i: f"{i}　{names.get(i, '')}".rstrip(), on_change=open_case, args=("todo.open",))
