"""つなぐ — entry point: ``streamlit run ui/app.py`` (``tsunagu serve`` does this)."""
import streamlit as st

from storage.private import restrict_umask
from ui import auth

restrict_umask()          # the store holds 要配慮個人情報: nothing this process writes is readable by others

st.set_page_config(page_title="つなぐ 相談受付・振り分け", page_icon="🤝", layout="wide")
# An empty date field shows "yyyy-mm-dd" in English letters: show 年・月・日 instead (CSS only,
# the field and its value are Streamlit's own).
st.html("""<style>
[data-testid="stDateInput"] [role="spinbutton"][data-placeholder="true"] { font-size: 0; }
[data-testid="stDateInput"] [role="spinbutton"][data-placeholder="true"]::before { font-size: 1rem; color: #999; }
[data-testid="stDateInput"] [data-placeholder="true"][data-type="year"]::before { content: "年"; }
[data-testid="stDateInput"] [data-placeholder="true"][data-type="month"]::before { content: "月"; }
[data-testid="stDateInput"] [data-placeholder="true"][data-type="day"]::before { content: "日"; }
</style>""")

# Pages live in one folder per section; each keeps the URL it had when the folders were flat,
# so bookmarks and links staff saved still open the same page.
SPEC = {
    "相談": [
        ("views/consult/intake.py", "intake", "相談受付", "📝"),
        ("views/consult/todo.py", "todo", "今日やること", "✅"),
        ("views/consult/cases.py", "cases", "ケース一覧", "📋"),
        ("views/consult/case.py", "case", "ケース詳細", "📄"),
    ],
    "会議": [
        ("views/meetings/meetings.py", "meetings", "会議", "📅"),
    ],
    "状況": [
        ("views/status/dashboard.py", "dashboard", "ダッシュボード", "📊"),
    ],
    "設定": [
        ("views/settings/rules.py", "settings_rules", "ルール", "⚙️"),
        ("views/settings/forms.py", "settings_forms", "フォーム", "🧾"),
        ("views/settings/meetings.py", "settings_meetings", "会議の設定", "🗓️"),
        ("views/settings/roster.py", "settings_roster", "名簿の設定", "🏢"),
        ("views/settings/vocab.py", "settings_vocab", "語彙", "🔤"),
        ("views/settings/publish.py", "settings_publish", "公開", "🚀"),
        ("views/settings/history.py", "settings_history", "履歴", "🕘"),
    ],
    "名簿・資源": [
        ("views/directory/roster.py", "roster", "名簿", "🏢"),
        ("views/directory/resources.py", "resources", "地域資源", "🌱"),
    ],
    "管理": [
        ("views/admin/accounts.py", "accounts", "アカウント", "👥"),
        ("views/admin/audit.py", "audit", "監査ログ", "🔏"),
    ],
    "研修": [
        ("views/training/overview.py", "training_overview", "全体図", "🗺️"),
        ("views/training/cases.py", "training_cases", "ケースで学ぶ", "📖"),
        ("views/training/quiz.py", "training_quiz", "クイズ", "❓"),
        ("views/training/sandbox.py", "training_sandbox", "練習の相談受付", "🧪"),
    ],
}
DEFAULT = "intake"
PAGES = {section: [st.Page(file, url_path=url, title=title, icon=icon, default=url == DEFAULT)
                   for file, url, title, icon in pages] for section, pages in SPEC.items()}


def _login_at(url: str) -> st.Page:
    return st.Page(auth.login_page, title="ログイン", icon="🔑", url_path=url, default=url == DEFAULT)


def _refused() -> None:
    st.title("このページは開けません")
    st.error("このページは見つからないか、開く権限がありません。左のメニューから選んでください。")


# Before login, every page's URL shows the login page and nothing else; after login the same
# URL (with its ?id=…) opens the page the user asked for: a bookmark survives the login.
if auth.current_user() is None:
    st.navigation([_login_at(url) for pages in SPEC.values() for _, url, _, _ in pages], position="hidden").run()
    st.stop()
access = auth.access()
auth.remember_in_browser()

# What each role sees (the data itself is filtered in the storage layer, whatever the page).
if access.training_only:
    allowed = {"研修"}
else:
    allowed = set(PAGES) - {"設定", "管理"}
    if access.can("publish_config"):
        allowed.add("設定")
    if access.can("view_audit") or access.can("manage_users"):
        allowed.add("管理")
# A page outside the role answers at its URL with the same words as an unknown page, so a
# bookmark gives a Japanese message instead of Streamlit's English "Page not found".
shown = {section: pages for section, pages in PAGES.items() if section in allowed}
refused = [st.Page(_refused, title="開けないページ", url_path=url, visibility="hidden")
           for section, pages in SPEC.items() if section not in allowed for _, url, _, _ in pages]
navigation = st.navigation({**shown, "": refused} if refused else shown, expanded=True)
with st.sidebar:
    live = auth.state.pack()
    st.caption("つなぐ — " + str(live.info.get("motto") or live.info["city"]["name"]))
    roles = "、".join(r.label for r in live.choices("roles") if r.id in access.user.roles)
    st.text(f"{access.user.name}（{roles}）")               # the name is typed by an administrator: text
    if st.button("ログアウト", key="auth.logout"):
        auth.logout()
navigation.run()
