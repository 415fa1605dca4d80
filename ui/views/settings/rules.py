"""設定 > ルール: the routing rules as sentences, a structured editor, and rules.yaml itself.

Every change goes into the draft (``ui.draft``); nothing here touches the live pack.
"""

import pandas as pd
import streamlit as st

from engine.casework import overrides
from engine.casework.wareki import today as jst_today
from engine.changes.editing import delete_item, move_item, set_field
from engine.rules.sentences import provenance_text, rule_text
from ui import auth, draft
from ui.plain import md
from ui.rule_editor import commit, editor, raw_editor, watch

st.title("ルール")
draft.banner()
sources, _base, _stored = draft.current()
watch(sources)
pack, err = draft.draft_pack(sources)
if err is not None:
    st.error("下書きの設定にエラーがあるため、ルールの一覧と編集画面は使えません。"
             "「上級（YAML）」タブでルールの設定を直してください。")
    for issue in err.issues:
        st.error(issue.render())

listing, building, raw = st.tabs(["ルール一覧", "ルールを編集・追加", "上級（YAML）"])


def act(edit, message: str) -> None:
    if commit(edit, message):
        st.rerun()


with listing:
    if pack is None:
        st.info("設定のエラーを直すと、ルールが文で表示されます。")
    else:
        st.caption("上から順に調べ、条件にあてはまるルールがすべて働きます。")
        # What staff changed when they confirmed: the best hint of which rule to change.
        today = jst_today()
        changed = auth.repo().handoff_counts(today)[2]      # each shard counted once until it changes
        with st.expander(f"職員が推薦を変えた回数（過去{overrides.WINDOW_DAYS}日、確定 {changed.confirmed} 件）",
                         expanded=bool(changed.total())):
            # Plain tables: a few rows, and the cases' ids wrap instead of hiding behind a scroll.
            rows = [r for r in overrides.rule_rows(pack, changed) if r["外された回数"]]
            if rows:
                st.table(pd.DataFrame(rows).set_index("ルール"))
            else:
                st.caption("ルールが出した推薦を外した確定はありません。")
            added = overrides.added_rows(pack, changed)
            if added:
                st.markdown("どのルールも出さなかったのに加えられたもの")
                st.table(pd.DataFrame(added).set_index("加えられたもの"))
        last = len(pack.rules) - 1
        for i, rule in enumerate(pack.rules):
            with st.container(border=True):
                st.markdown(f"**{i + 1}. {md(rule.label)}**" + ("　**〔無効〕**" if not rule.enabled else ""))
                st.markdown(rule_text(pack, rule))
                st.caption(provenance_text(rule))
                found = changed.by_rule.get(rule.id)
                if found:
                    st.caption(f"過去{overrides.WINDOW_DAYS}日に職員がこのルールの推薦を外した回数: {found.removed}")
                # One row, each control as wide as its words (at 1024 px fixed columns cut 「編集」 to 「編…」).
                cols = [st.container(horizontal=True, vertical_alignment="center")] * 6
                key = f"rules.list.{rule.id}"
                if cols[0].button("編集", key=f"{key}.edit"):
                    st.session_state["rules.edit.pending"] = rule.id
                    st.toast(f"「ルールを編集・追加」タブで「{rule.label}」を編集できます。")
                if cols[1].button("↑", key=f"{key}.up", disabled=i == 0, help="1つ上へ"):
                    act(lambda t, r=rule: move_item(t, "rules", r.id, -1), f"ルール「{rule.label}」を1つ上に移しました。")
                if cols[2].button("↓", key=f"{key}.down", disabled=i == last, help="1つ下へ"):
                    act(lambda t, r=rule: move_item(t, "rules", r.id, 1), f"ルール「{rule.label}」を1つ下に移しました。")
                toggle = "有効にする" if not rule.enabled else "無効にする"
                if cols[3].button(toggle, key=f"{key}.toggle"):
                    act(lambda t, r=rule: set_field(t, "rules", r.id, "enabled", not r.enabled),
                        f"ルール「{rule.label}」を{'有効' if not rule.enabled else '無効'}にしました。")
                sure = cols[4].checkbox("削除してよい", key=f"{key}.sure")
                if cols[5].button("削除", key=f"{key}.delete", disabled=not sure):
                    act(lambda t, r=rule: delete_item(t, "rules", r.id), f"ルール「{rule.label}」を削除しました。")

with building:
    if pack is None:
        st.info("設定のエラーを直すと、ルールを画面で編集できます。")
    else:
        editor(pack, sources)

with raw:
    raw_editor(sources)
