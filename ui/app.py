"""つなぐ — entry point: ``streamlit run ui/app.py`` (``tsunagu serve`` does this)."""
import streamlit as st

from storage.private import restrict_umask
from ui import auth

restrict_umask()          # the store holds 要配慮個人情報: nothing this process writes is readable by others

st.set_page_config(page_title="つなぐ 相談受付・振り分け", page_icon="🤝", layout="wide")

# Before login, the login page is the only page there is: no URL reaches any other.
if auth.current_user() is None:
    st.navigation([st.Page(auth.login_page, title="ログイン", icon="🔑")]).run()
    st.stop()
access = auth.access()

# Pages live in one folder per section; each keeps the URL it had when the folders were flat,
# so bookmarks and links staff saved still open the same page.
PAGES = {
    "相談": [
        st.Page("views/consult/intake.py", url_path="intake", title="相談受付", icon="📝", default=True),
        st.Page("views/consult/todo.py", url_path="todo", title="今日やること", icon="✅"),
        st.Page("views/consult/cases.py", url_path="cases", title="ケース一覧", icon="📋"),
        st.Page("views/consult/case.py", url_path="case", title="ケース詳細", icon="📄"),
    ],
    "会議": [
        st.Page("views/meetings/meetings.py", url_path="meetings", title="会議", icon="📅"),
    ],
    "状況": [
        st.Page("views/status/dashboard.py", url_path="dashboard", title="ダッシュボード", icon="📊"),
    ],
    "設定": [
        st.Page("views/settings/rules.py", url_path="settings_rules", title="ルール", icon="⚙️"),
        st.Page("views/settings/forms.py", url_path="settings_forms", title="フォーム", icon="🧾"),
        st.Page("views/settings/meetings.py", url_path="settings_meetings", title="会議の設定", icon="🗓️"),
        st.Page("views/settings/roster.py", url_path="settings_roster", title="名簿の設定", icon="🏢"),
        st.Page("views/settings/vocab.py", url_path="settings_vocab", title="語彙", icon="🔤"),
        st.Page("views/settings/publish.py", url_path="settings_publish", title="公開", icon="🚀"),
        st.Page("views/settings/history.py", url_path="settings_history", title="履歴", icon="🕘"),
    ],
    "名簿・資源": [
        st.Page("views/directory/roster.py", url_path="roster", title="名簿", icon="🏢"),
        st.Page("views/directory/resources.py", url_path="resources", title="地域資源", icon="🌱"),
    ],
    "管理": [
        st.Page("views/admin/audit.py", url_path="audit", title="監査ログ", icon="🔏"),
    ],
    "研修": [
        st.Page("views/training/overview.py", url_path="training_overview", title="全体図", icon="🗺️"),
        st.Page("views/training/cases.py", url_path="training_cases", title="ケースで学ぶ", icon="📖"),
        st.Page("views/training/quiz.py", url_path="training_quiz", title="クイズ", icon="❓"),
        st.Page("views/training/sandbox.py", url_path="training_sandbox", title="練習の相談受付", icon="🧪"),
    ],
}

# What each role sees (the data itself is filtered in the storage layer, whatever the page).
if access.training_only:
    allowed = {"研修"}
else:
    allowed = set(PAGES) - {"設定", "管理"}
    if access.can("publish_config"):
        allowed.add("設定")
    if access.can("view_audit"):
        allowed.add("管理")
navigation = st.navigation({section: pages for section, pages in PAGES.items() if pages and section in allowed})
with st.sidebar:
    live = auth.state.pack()
    st.caption("つなぐ — " + str(live.info.get("motto") or live.info["city"]["name"]))
    roles = "、".join(r.label for r in live.choices("roles") if r.id in access.user.roles)
    st.caption(f"{access.user.name}（{roles}）")
    if st.button("ログアウト", key="auth.logout"):
        auth.logout()
navigation.run()
