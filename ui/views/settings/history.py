"""設定 > 履歴: every published version, what each changed, and going back to an earlier one."""
import streamlit as st

from engine.casework.wareki import wareki
from engine.changes.versions import ensure_live, get_draft, history, pack_of, rollback, rule_changes, yaml_diff
from engine.errors import ConfigError, TsunaguError
from ui import auth, state
from ui.plain import md

KINDS = {"initial": "初期", "publish": "公開", "rollback": "ロールバック"}

repo = auth.repo()
live_id = ensure_live(repo, state.config_dir())
st.title("設定の履歴")
notice = st.session_state.pop("history.__notice", None)
if notice:
    st.success(notice)


def when(iso: str) -> str:
    return f"{wareki(iso[:10])} {iso[11:16]}" if iso else ""


def kind_text(v) -> str:
    kind = KINDS.get(v.kind, v.kind)
    return f"{kind}（版 {v.rolled_back_to} に戻す）" if v.rolled_back_to else kind


versions = list(reversed(history(repo)))                       # newest first
st.dataframe([{"公開中": "●" if v.live else "", "版": v.id, "日時": when(v.created_at), "公開した人": v.author,
               "理由": v.reason, "種類": kind_text(v)} for v in versions], hide_index=True)

by_id = {v.id: v for v in versions}
if "history.__select" in st.session_state:
    # Set before the widget is drawn: the browser then shows the new live version, not the old choice.
    st.session_state["history.version"] = st.session_state.pop("history.__select")
chosen = st.selectbox("版を選ぶ", list(by_id), key="history.version",
                      format_func=lambda i: f"{i}（{'公開中・' if by_id[i].live else ''}{kind_text(by_id[i])}、{when(by_id[i].created_at)}）")
v = by_id[chosen]
st.subheader(f"版 {v.id}")
st.text(f"{when(v.created_at)}　{v.author}　「{v.reason}」　種類: {kind_text(v)}　設定パックの版: {v.pack_version}")

if v.parent is None:
    st.caption("最初の版です。比べる前の版はありません。")
else:
    st.markdown(f"**前の版 {v.parent} からの変更**")
    changes = rule_changes(pack_of(repo, v.parent), pack_of(repo, v.id))
    for kind, rule_id, sentence in changes:
        st.markdown(f"- **{kind}** {md(rule_id)}: " + md(sentence))
    if not changes:
        st.caption("ルールの変更はありません。ほかのファイルの変更は、下の差分で確かめてください。")
    with st.expander(f"YAML の差分（版 {v.parent} → 版 {v.id}）"):
        diff = yaml_diff(repo.get_version(v.parent)["sources"], repo.get_version(v.id)["sources"], f"版 {v.parent}", f"版 {v.id}")
        st.code(diff or "（差分はありません）", language="diff")

if v.live:
    st.info("この版が公開中です。")
    st.stop()

st.markdown("**この版に戻す**")
st.caption(f"版 {v.id} の内容を、新しい版として公開します。これまでの履歴は消えません。")
if get_draft(repo) is not None:
    st.warning("編集中の下書きがあります。戻すと、その下書きの元の版は公開中でなくなり、下書きは公開できなくなります。")
who = st.text_input("戻す人", value=st.session_state.get("user", ""), key="history.author")
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
        st.session_state["history.__notice"] = f"版 {v.id} の内容に戻しました。新しい版 {new.id} が公開中です。"
        st.rerun()
