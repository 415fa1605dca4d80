"""つなぐ — entry point: ``streamlit run ui/app.py`` (``tsunagu serve`` does this)."""
import streamlit as st

from ui import auth

st.set_page_config(page_title="つなぐ 相談受付・振り分け", page_icon="🤝", layout="wide")

# Before login, the login page is the only page there is: no URL reaches any other.
if auth.current_user() is None:
    st.navigation([st.Page(auth.login_page, title="ログイン", icon="🔑")]).run()
    st.stop()
access = auth.access()

PAGES = {
    "相談": [
        st.Page("views/intake.py", title="相談受付", icon="📝", default=True),
        st.Page("views/cases.py", title="ケース一覧", icon="📋"),
        st.Page("views/case.py", title="ケース詳細", icon="📄"),
    ],
    "会議": [
        st.Page("views/meetings.py", title="会議", icon="📅"),
    ],
    "状況": [
        st.Page("views/dashboard.py", title="ダッシュボード", icon="📊"),
    ],
    "設定": [
        st.Page("views/settings_rules.py", title="ルール", icon="⚙️"),
        st.Page("views/settings_forms.py", title="フォーム", icon="🧾"),
        st.Page("views/settings_meetings.py", title="会議の設定", icon="🗓️"),
        st.Page("views/settings_roster.py", title="名簿の設定", icon="🏢"),
        st.Page("views/settings_vocab.py", title="語彙", icon="🔤"),
        st.Page("views/settings_publish.py", title="公開", icon="🚀"),
        st.Page("views/settings_history.py", title="履歴", icon="🕘"),
    ],
    "名簿・資源": [
        st.Page("views/roster.py", title="名簿", icon="🏢"),
        st.Page("views/resources.py", title="地域資源", icon="🌱"),
    ],
    "管理": [
        st.Page("views/audit.py", title="監査ログ", icon="🔏"),
    ],
    "研修": [
        st.Page("views/training_overview.py", title="全体図", icon="🗺️"),
        st.Page("views/training_cases.py", title="ケースで学ぶ", icon="📖"),
        st.Page("views/training_quiz.py", title="クイズ", icon="❓"),
        st.Page("views/training_sandbox.py", title="練習の相談受付", icon="🧪"),
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
    st.caption("つなぐ — 誰も一人ぼっちにしない、誰も排除しないまち")
    roles = "、".join(r.label for r in auth.state.pack().choices("roles") if r.id in access.user.roles)
    st.caption(f"{access.user.name}（{roles}）")
    if st.button("ログアウト", key="auth.logout"):
        auth.logout()
navigation.run()
