"""設定 > 履歴: every published version, what each changed, and going back to an earlier one."""
import streamlit as st

from engine.casework.wareki import wareki_time
from engine.changes.versions import (
    ensure_live,
    get_draft,
    history,
    pack_of,
    rollback,
    rule_changes,
    version_label,
    version_labels,
    yaml_diff,
)
from engine.errors import ConfigError, TsunaguError
from ui import auth, state
from ui.plain import heading, md

KINDS = {"initial": "初期", "publish": "公開", "rollback": "ロールバック"}

repo = auth.repo()
live_id = ensure_live(repo, state.config_dir())
st.title("設定の履歴")
notice = st.session_state.pop("history.__notice", None)
if notice:
    st.success(notice)


def when(iso: str) -> str:
    return wareki_time(iso)


def kind_text(v) -> str:
    kind = KINDS.get(v.kind, v.kind)
    return f"{kind}（{name(v.rolled_back_to)} に戻す）" if v.rolled_back_to else kind


versions = list(reversed(history(repo)))                       # newest first
names = version_labels(repo)


def name(version_id: str | None) -> str:
    return names.get(version_id or "", "記録のない版")



# 種類 before the long free-text columns, so it is on screen at 1024 px too.
st.dataframe([{"公開中": "●" if v.live else "", "版": name(v.id), "種類": kind_text(v), "日時": when(v.created_at),
               "公開した人": v.author, "理由": v.reason} for v in versions], hide_index=True, width="stretch")

by_id = {v.id: v for v in versions}
if "history.__select" in st.session_state:
    # Set before the widget is drawn: the browser then shows the new live version, not the old choice.
    st.session_state["history.version"] = st.session_state.pop("history.__select")
chosen = st.selectbox("版を選ぶ", list(by_id), key="history.version",
                      format_func=lambda i: f"{name(i)}（{'公開中・' if by_id[i].live else ''}{kind_text(by_id[i])}、{when(by_id[i].created_at)}）")
v = by_id[chosen]
# A version's label names its publisher (typed text): escaped HTML or st.text, never markdown,
# where even escaped text would turn a URL in it into a link.
heading(name(v.id))
st.text(f"{when(v.created_at)}　種類: {kind_text(v)}")
st.text(f"理由: {v.reason}")                 # typed by staff: shown as text

if v.parent is None:
    st.caption("最初の版です。比べる前の版はありません。")
else:
    st.markdown("**前の版からの変更**")
    st.text(f"前の版: {name(v.parent)}")
    older, newer = pack_of(repo, v.parent), pack_of(repo, v.id)
    changes = rule_changes(older, newer)
    labels = {r.id: r.label for r in (*older.rules, *newer.rules)}        # rules by their names, never ids
    for kind, rule_id, sentence in changes:
        st.markdown(f"- **{kind}** {md(labels.get(rule_id, ''))}: " + md(sentence))
    if not changes:
        st.caption("ルールの変更はありません。ほかの設定の変更は、下の「上級（YAML）」の差分で確かめてください。")
    with st.expander("上級（YAML）: 設定ファイルの差分（前の版 → この版）"):
        diff = yaml_diff(repo.get_version(v.parent)["sources"], repo.get_version(v.id)["sources"], name(v.parent), name(v.id))
        st.code(diff or "（差分はありません）", language="diff")

if v.live:
    st.info("この版が公開中です。")
    st.stop()

st.markdown("**この版に戻す**")
st.caption("この版の内容を、新しい版として公開します。これまでの履歴は消えません。")
if get_draft(repo) is not None:
    st.warning("編集中の下書きがあります。戻すと、その下書きの元の版は公開中でなくなり、下書きは公開できなくなります。")
who = auth.access().user.name                 # the logged-in user, as the audit records
st.text(f"戻す人: {who}")
why = st.text_area("戻す理由", key="history.reason", help="必須です。履歴に残ります。")
if st.button("この版に戻す", type="primary"):
    try:
        new = rollback(repo, v.id, who, why)
    except ConfigError as err:
        st.error(err.render())
    except TsunaguError as err:
        st.error(str(err), icon="⚠️")
    else:
        st.session_state.pop("history.reason", None)
        st.session_state["history.__select"] = new.id          # show the new live version
        st.session_state["history.__notice"] = "選んだ版の内容に戻しました。その内容の新しい版が公開中です（下に表示しています）。"
        st.rerun()
