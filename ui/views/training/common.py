"""What every 研修 page shares: the banner, and the practice store kept apart from the live one
(opened in ``ui.state``).

Not a page (ui/app.py does not list it): the 研修 pages import it.
"""
from __future__ import annotations

import streamlit as st

from engine.training.lessons import BANNER
from ui.state import training_repo


def banner() -> None:
    st.warning(BANNER, icon="🎓")


__all__ = ["banner", "training_repo"]
