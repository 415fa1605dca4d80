"""つなぐ — entry point: ``streamlit run ui/app.py`` (``tsunagu serve`` does this)."""
import streamlit as st

st.set_page_config(page_title="つなぐ 相談受付・振り分け", page_icon="🤝", layout="wide")

PAGES = {
    "相談": [
        st.Page("views/intake.py", title="相談受付", icon="📝", url_path="intake", default=True),
        st.Page("views/cases.py", title="ケース一覧", icon="📋", url_path="cases"),
        st.Page("views/case.py", title="ケース詳細", icon="📄", url_path="case"),
    ],
    "会議": [
        st.Page("views/meetings.py", title="会議", icon="📅", url_path="meetings"),
    ],
    "状況": [
        st.Page("views/dashboard.py", title="ダッシュボード", icon="📊", url_path="dashboard"),
    ],
    "設定": [
        st.Page("views/settings_rules.py", title="ルール", icon="⚙️", url_path="settings-rules"),
        st.Page("views/settings_forms.py", title="フォーム", icon="🧾", url_path="settings-forms"),
        st.Page("views/settings_meetings.py", title="会議の設定", icon="🗓️", url_path="settings-meetings"),
        st.Page("views/settings_roster.py", title="名簿の設定", icon="🏢", url_path="settings-roster"),
        st.Page("views/settings_vocab.py", title="語彙", icon="🔤", url_path="settings-vocab"),
        st.Page("views/settings_publish.py", title="公開", icon="🚀", url_path="settings-publish"),
        st.Page("views/settings_history.py", title="履歴", icon="🕘", url_path="settings-history"),
    ],
    "名簿・資源": [
        st.Page("views/roster.py", title="名簿", icon="🏢", url_path="roster"),
        st.Page("views/resources.py", title="地域資源", icon="🌱", url_path="resources"),
    ],
    "研修": [
        st.Page("views/training_overview.py", title="全体図", icon="🗺️", url_path="training-overview"),
        st.Page("views/training_cases.py", title="ケースで学ぶ", icon="📖", url_path="training-cases"),
        st.Page("views/training_quiz.py", title="クイズ", icon="❓", url_path="training-quiz"),
        st.Page("views/training_sandbox.py", title="練習の相談受付", icon="🧪", url_path="training-sandbox"),
    ],
}

navigation = st.navigation({section: pages for section, pages in PAGES.items() if pages})
st.sidebar.caption("つなぐ — 誰も一人ぼっちにしない、誰も排除しないまち")
navigation.run()
