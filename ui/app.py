"""つなぐ — entry point: ``streamlit run ui/app.py`` (``tsunagu serve`` does this)."""
import streamlit as st

st.set_page_config(page_title="つなぐ 相談受付・振り分け", page_icon="🤝", layout="wide")

PAGES = {
    "相談": [
        st.Page("pages/intake.py", title="相談受付", icon="📝", url_path="intake", default=True),
        st.Page("pages/cases.py", title="ケース一覧", icon="📋", url_path="cases"),
        st.Page("pages/case.py", title="ケース詳細", icon="📄", url_path="case"),
    ],
    "会議": [
        st.Page("pages/meetings.py", title="会議", icon="📅", url_path="meetings"),
    ],
    "状況": [
        st.Page("pages/dashboard.py", title="ダッシュボード", icon="📊", url_path="dashboard"),
    ],
    "設定": [
    ],
    "名簿・資源": [
        st.Page("pages/roster.py", title="名簿", icon="🏢", url_path="roster"),
        st.Page("pages/resources.py", title="地域資源", icon="🌱", url_path="resources"),
    ],
}

navigation = st.navigation({section: pages for section, pages in PAGES.items() if pages})
st.sidebar.caption("つなぐ — 誰も一人ぼっちにしない、誰も排除しないまち")
navigation.run()
