"""What every 研修 page shares: the banner, and the practice store kept apart from the live one.

Not a page (ui/app.py does not list it): the 研修 pages import it.
"""
from __future__ import annotations

import streamlit as st

from engine.errors import StorageError
from engine.training import BANNER, training_dir
from storage import Repository, open_repository
from ui import state


def banner() -> None:
    st.warning(BANNER, icon="🎓")


@st.cache_resource(show_spinner=False)
def _training_repo(path: str) -> Repository:
    return open_repository(path)


def training_repo() -> Repository:
    """The practice store, ``<data>/training``: never the live lists, agendas or exports."""
    try:
        return _training_repo(str(training_dir(state.data_dir())))
    except StorageError as err:
        st.error(f"研修用のデータを開けません: {err}")
        st.stop()
