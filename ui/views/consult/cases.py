"""ケース一覧: find a case by status, program, agency, area, meeting, priority, date or name."""
import datetime as dt

import streamlit as st

from engine.casework.caselist import SORTS, CaseQuery, column_px, row_view
from engine.casework.demo import DEMO_KINDS, save_demo, store_kind
from engine.casework.duties import WEEK, DutyFilter, due_columns
from engine.casework.wareki import today as jst_today
from engine.errors import TsunaguError
from ui import auth, state

pack, repo = state.pack(), auth.repo()
PER_PAGE = 50
# 優先度 and 状態 first: at 1024 px the right-hand columns scroll, these never do.
COLUMNS = ["優先度", "状態", "ID", "氏名", "受付日", "次の期限", "主担当", "つなぎ", "圏域", "事業", "会議"]
ROW_PX, HEAD_PX = 35, 38
DEMO_COUNT = 200
EARLIEST = dt.date(2000, 1, 1)        # date_input otherwise offers only the last ten years
st.title("ケース一覧")
total = auth.visible_total(repo)
if not total:
    st.info("まだケースがありません。「相談受付」から相談を受け付けると、ここに並びます。")
    # Fictional cases only for administrators, and only in a store marked as a demo or
    # training store: never into the live one, whoever clicks.
    if repo.access.can("manage_users") and store_kind(repo) in DEMO_KINDS:
        st.caption("この保存先はデモ用です。架空のデモデータを作れます（実在の人ではありません。記録には demo の印が付きます）。")
        if st.button(f"デモデータを作る（架空の{DEMO_COUNT}件）", type="primary"):
            try:
                with st.spinner("デモデータを作っています…"):
                    save_demo(repo, pack, DEMO_COUNT)           # marked demo: true, with their intake events
            except TsunaguError as err:
                st.error(f"デモデータを保存できませんでした: {err}")
                st.stop()
            st.rerun()
    st.stop()


def first_page() -> None:
    # A new filter gives a new result; page 7 of the old one means nothing in it.
    st.session_state["cases.page"] = 1


def move(delta: int) -> None:
    st.session_state["cases.page"] = max(1, st.session_state.get("cases.page", 1) + delta)


def open_case() -> None:
    chosen = st.session_state.get("cases.open")
    if chosen:
        st.session_state["case_id"] = chosen
        st.session_state["cases.open"] = None        # back on this page, the box is empty again
        st.session_state["cases.go"] = True


if st.session_state.get("cases.go"):              # cleared by ケース詳細 once it runs
    st.switch_page("views/consult/case.py")


def choose(label: str, kind: str, key: str) -> list[str]:
    return st.sidebar.multiselect(label, pack.ids(kind), format_func=lambda i: pack.label(kind, i),
                                  key=f"cases.{key}", on_change=first_page, placeholder="すべて", select_all=False, wrap=True)


st.sidebar.markdown("### 絞り込み")
text = st.sidebar.text_input("氏名・ふりがな", key="cases.text", on_change=first_page,
                             help="ひらがな・カタカナのどちらでも探せます。空白は無視します。")
statuses = choose("状態", "statuses", "statuses")
programs = choose("事業", "programs", "programs")
agencies = choose("機関", "agencies", "agencies")
areas = choose("圏域", "areas", "areas")
meetings = choose("会議", "meetings", "meetings")
priorities = choose("優先度", "priorities", "priorities")
date_from = st.sidebar.date_input("受付日（から）", value=None, min_value=EARLIEST, key="cases.date_from", on_change=first_page)
date_to = st.sidebar.date_input("受付日（まで）", value=None, min_value=EARLIEST, key="cases.date_to", on_change=first_page)
sort = st.sidebar.selectbox("並べ替え", list(SORTS), format_func=SORTS.get, key="cases.sort", on_change=first_page)
only_overdue = st.sidebar.checkbox("期限切れだけ（状態の期限・受理されないつなぎ）", key="cases.overdue", on_change=first_page)
due_this_week = st.sidebar.checkbox("今週までに期限があるもの（期限切れを含む）", key="cases.due_week", on_change=first_page)
only_mine = st.sidebar.checkbox("自分・自分の機関が主担当のもの", key="cases.mine", on_change=first_page)
today = jst_today()
me = repo.access.user

st.session_state.setdefault("cases.page", 1)
query = CaseQuery(statuses=statuses, programs=programs, agencies=agencies, areas=areas, meetings=meetings,
                  priorities=priorities, date_from=date_from, date_to=date_to, text=text, sort=sort,
                  page=max(1, int(st.session_state["cases.page"])), per_page=PER_PAGE)

# Filtered (期限 and 「自分」 too), counted and paged where the data is (SQL on PostgreSQL); only this page's rows come back.
duties = DutyFilter(today, overdue=only_overdue, due_within=WEEK if due_this_week else None, mine=only_mine)
result = repo.case_page(query, duties)
rows = [{**row_view(pack, case), **due_columns(pack, case, today)} for case in result.rows]
st.session_state["cases.page"] = result.page          # a page beyond the end shows the last one

if not result.total:
    st.info(f"条件に合うケースはありません（全 {total:,} 件）。左の「絞り込み」の条件を減らしてください。")
    st.stop()

st.caption(f"{result.total:,} 件中 {result.first:,}–{result.last:,} 件")


def px(width: int | str, label: str | None = None):
    """A column this wide. In pixels, at 1024 px 優先度, 状態 (up to 6 characters), ケース番号, 氏名
    and 受付日 fit whole; the rest scroll sideways."""
    return st.column_config.TextColumn(label, width=width)


# A new key after each opening: coming back to the list, no row is still selected.
table_key = f"cases.table.{st.session_state.get('cases.opened', 0)}"
picked = st.dataframe(
    [{column: row.get(column, "") for column in COLUMNS} for row in rows], hide_index=True, key=table_key,
    on_select="rerun", selection_mode="single-row", height=HEAD_PX + ROW_PX * len(rows) + 2,
    column_config={"優先度": px(56), "状態": px(column_px((r.get("状態", "") for r in rows), 64, 170)),
                   "ID": px(136, "ケース番号"), "氏名": px(104), "受付日": px(128), "次の期限": px(144),
                   "事業": px("medium"), "会議": px("medium")})
if picked.selection.rows:
    st.session_state["case_id"] = rows[picked.selection.rows[0]]["ID"]
    st.session_state["cases.opened"] = st.session_state.get("cases.opened", 0) + 1
    st.switch_page("views/consult/case.py")
st.caption("行を選ぶと、そのケースが開きます。")

prev_col, page_col, next_col = st.columns([1, 2, 1], vertical_alignment="bottom")
prev_col.button("前へ", on_click=move, args=(-1,), disabled=result.page <= 1, key="cases.prev")
page_col.number_input(f"ページ（全 {result.pages} ページ）", min_value=1, max_value=result.pages, step=1, key="cases.page")
next_col.button("次へ", on_click=move, args=(1,), disabled=result.page >= result.pages, key="cases.next")

names = {row["ID"]: row["氏名"] for row in rows}
st.selectbox("ケースを開く", list(names), index=None, placeholder="ケース番号を選択", key="cases.open",
             format_func=lambda i: f"{i}　{names[i]}".rstrip(), on_change=open_case)
