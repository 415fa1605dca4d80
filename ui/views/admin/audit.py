"""監査ログ (管理者): who logged in, viewed, changed, exported and published what — ids only."""
import datetime as dt

import streamlit as st

from engine.casework.stats import to_csv
from engine.casework.wareki import wareki_time
from ui import auth, state

access = auth.access()
st.title("監査ログ")
if not access.can("view_audit"):
    st.error("監査ログを見る権限がありません。")
    st.stop()
log = auth.audit_log()
verdict = log.verify()
(st.success if verdict.ok else st.error)(verdict.message)
entries = list(log.entries())
if not entries:
    st.info("まだ記録がありません。")
    st.stop()

ACTIONS = {"login": "ログイン", "logout": "ログアウト", "login_failure": "ログイン失敗", "session_timeout": "時間切れ",
           "case_view": "ケースの閲覧", "case_view_denied": "閲覧の拒否", "case_write": "ケースの変更",
           "export": "CSV 出力", "config_publish": "設定の公開", "config_rollback": "設定を戻す",
           "user_add": "アカウント作成", "user_disable": "アカウント無効化", "user_reset": "パスワード再設定",
           "audit_repair": "監査ログの修復", "demo_data": "デモデータの作成", "case_delete": "ケースの削除",
           "user_enable": "アカウント有効化", "user_unlock": "ロック解除", "user_roles": "役割・所属の変更"}
left, middle, right = st.columns(3)
actors = left.multiselect("だれが", sorted({e["actor"] for e in entries}), placeholder="すべて", select_all=False, wrap=True)
actions = middle.multiselect("何を", sorted({e["action"] for e in entries}), format_func=lambda a: ACTIONS.get(a, a),
                             placeholder="すべて", select_all=False, wrap=True)
case_id = right.text_input("ケース番号")
since = st.date_input("この日から", value=None, min_value=dt.date(2020, 1, 1))
# 連番 is the place in the order entries were written: the chain's own number on one chain, and
# still one number per entry where PostgreSQL writes several chains side by side (pg_audit.py).
rows = [(n, e) for n, e in reversed(list(enumerate(entries, 1)))
        if (not actors or e["actor"] in actors) and (not actions or e["action"] in actions)
        and (not case_id or e.get("case_id") == case_id.strip()) and (not since or e["at"][:10] >= since.isoformat())]
st.caption(f"{len(rows)} 件（全 {len(entries)} 件）")
table = [{"連番": n, "日時": wareki_time(e["at"]), "だれが": e["actor"],
          "何を": ACTIONS.get(e["action"], e["action"]), "ケース": e.get("case_id", ""),
          "対象": e.get("target", e.get("version", ""))} for n, e in rows]
st.dataframe(table, hide_index=True, width="stretch")


repo = auth.repo()      # here, in the page's run: the download callback has no session to look it up in


def export() -> bytes:
    repo.export("audit_csv")
    return to_csv(table, ["連番", "日時", "だれが", "何を", "ケース", "対象"])


st.download_button("CSVで保存", export, file_name="tsunagu_audit.csv", mime="text/csv")
