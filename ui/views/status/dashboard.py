"""ダッシュボード: the figures the city reports for the 重層的支援体制整備事業, and counts."""
import datetime as dt

import pandas as pd
import streamlit as st

from engine.casework import overrides, stats
from engine.casework.wareki import today as jst_today
from ui import auth, state

pack, repo = state.pack(), auth.repo()
st.title("ダッシュボード")
total = auth.visible_total(repo)
if not total:
    st.info("まだケースがないため、集計するものがありません。「相談受付」で相談を受け付けると、ここに件数が出ます。\n\n"
            "画面を試すだけなら「ケース一覧」で架空のデモデータを作れます。")
    st.stop()

ALL, CUSTOM = "all", "custom"
EARLIEST = dt.date(2000, 1, 1)        # date_input otherwise offers only the last ten years
years = repo.fiscal_years()
period = st.selectbox("期間", [ALL, *years, CUSTOM], key="dashboard.period",
                      format_func=lambda p: {ALL: "すべての期間", CUSTOM: "期間を指定"}.get(p) or stats.fiscal_label(p))
date_from = date_to = None
if period == CUSTOM:
    left, right = st.columns(2)
    start = left.date_input("受付日（から）", value=None, min_value=EARLIEST, key="dashboard.from")
    end = right.date_input("受付日（まで）", value=None, min_value=EARLIEST, key="dashboard.to")
    date_from, date_to = (start.isoformat() if start else None), (end.isoformat() if end else None)
elif period != ALL:
    date_from, date_to = stats.fiscal_period(period)
st.caption("相談は受付日、会議は開催日、プランは作成日で期間に入れます。")

# Counted where the data is (SQL on PostgreSQL; a read-only pass over the files otherwise).
report, counted = repo.dashboard(date_from, date_to)
figures = report.figures()
# Each figure as wide as its label, wrapping to the next line: fixed columns cut long labels at 1024 px.
row = st.container(horizontal=True, wrap=True, gap="large")
for label, value in figures:
    row.metric(label, f"{value:,}", width="content")

st.markdown("#### つなぎと、推薦を変えた件数")
st.caption(f"確定した件数と推薦を変えた数は過去{overrides.WINDOW_DAYS}日、つなぎは今の状態です。")
today = jst_today()
# Only the cases with a referral pending or a routing confirmed in the window are read (PostgreSQL);
# from files each shard's answer is kept until the shard changes.
pending, late, changed = repo.handoff_counts(today)
row = st.container(horizontal=True, wrap=True, gap="large")
for label, value in (("受理待ちのつなぎ", pending), ("期限切れのつなぎ", late),
                     ("確定した件数", changed.confirmed), ("推薦を変えた数", changed.total())):
    row.metric(label, f"{value:,}", width="content")
if late:
    st.warning(f"受理の期限を過ぎたつなぎが {late:,} 件あります。「今日やること」と「ケース一覧」（期限切れだけ）で確かめてください。")
with st.expander(f"ルールごとの、職員が推薦を変えた回数（過去{overrides.WINDOW_DAYS}日）"):
    rows = [r for r in overrides.rule_rows(pack, changed) if r["外された回数"]]
    if rows:
        st.dataframe(rows, hide_index=True)
    added = overrides.added_rows(pack, changed)
    if added:
        st.markdown("どのルールも出さなかったのに加えられたもの")
        st.dataframe(added, hide_index=True)
    if not rows and not added:
        st.caption("この期間に推薦を変えた確定はありません。")

st.markdown("#### 会議ごと")
st.dataframe([{"会議": pack.label("meetings", m.id), "開催件数": report.held_by_meeting.get(m.id, 0),
               "協議した件数": report.discussed_by_meeting.get(m.id, 0)} for m in pack.meetings], hide_index=True)

st.markdown("#### 件数")
if not report.new_cases:
    st.info("この期間に受け付けたケースはありません。期間を変えてください。")
else:
    shown = [d for d in stats.DIMENSIONS if d != "priority"]
    for tab, dimension in zip(st.tabs([stats.DIMENSIONS[d][0] for d in shown]), shown):
        rows = stats.labelled(pack, dimension, counted[dimension])
        frame = pd.DataFrame({"件数": [n for _, n in rows]}, index=[label for label, _ in rows])
        # Long Japanese names read better across than down; vocabulary order, not alphabetical.
        tab.bar_chart(frame, sort=False, horizontal=dimension in ("program", "agency"), x_label="", y_label="")

summary_rows = [{"区分": "報告", "項目": label, "件数": value} for label, value in figures]
summary_rows += [{"区分": "会議開催件数", "項目": pack.label("meetings", m.id), "件数": report.held_by_meeting.get(m.id, 0)}
                 for m in pack.meetings]
summary_rows += [{"区分": "会議で協議した件数", "項目": pack.label("meetings", m.id),
                  "件数": report.discussed_by_meeting.get(m.id, 0)} for m in pack.meetings]
summary_rows += stats.count_rows(pack, counted)
suffix = {ALL: "all", CUSTOM: f"{date_from or ''}_{date_to or ''}"}.get(period, f"FY{period}")


def counts_csv() -> bytes:
    repo.export("counts_csv")                     # permission checked and the export audited
    return stats.to_csv(summary_rows, ["区分", "項目", "件数"])


def case_csv() -> bytes:
    # Built only when clicked: 20,000 rows take a moment, and most visits never download.
    repo.export("cases_csv")
    rows = repo.read_cases(lambda cases: [stats.case_row(pack, c) for c in stats.in_period_cases(cases, date_from, date_to)])
    return stats.to_csv(rows, stats.CASE_COLUMNS)


if not repo.access.can("export"):
    exporters = "・".join(r.label for r in pack.choices("roles") if "export" in (r.get("permissions") or ()))
    st.text(f"CSV の出力は、出力の権限がある役割（{exporters or 'なし'}）だけが使えます。")
    st.stop()
left = right = st.container(horizontal=True, wrap=True)       # buttons as wide as their words
left.download_button("件数をCSVで保存", counts_csv,
                     file_name=f"tsunagu_counts_{suffix}.csv", mime="text/csv", key="dashboard.counts_csv")
right.download_button("ケース一覧をCSVで保存（個人情報なし）", case_csv, file_name=f"tsunagu_cases_{suffix}.csv",
                      mime="text/csv", key="dashboard.cases_csv",
                      help="ID と受付日・経路・圏域・状態・優先度・つなぎ先だけです。氏名や相談内容は入りません。")
