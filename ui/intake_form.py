"""The 相談受付票 with its submit button: shared by the live intake and the training sandbox,
which differ only in the store they save to."""
from __future__ import annotations

import datetime as dt

import streamlit as st

from engine.casework.cases import take_intake
from engine.errors import CaseError, StorageError
from engine.pack.model import Pack
from engine.rules.facts import missing_required
from ui.form_view import jsonable, render_form


def intake_form(pack: Pack, repo, prefix: str, button: str, actor: str) -> None:
    """Draw the form; on submit validate, decide and save, keeping every value on an error.

    The saved case lands in ``st.session_state[f"{prefix}.__saved"]`` for the page to show.
    """
    form = pack.intake
    errors_key = f"{prefix}.__errors"
    if f"{prefix}.received_on" not in st.session_state:
        st.session_state[f"{prefix}.received_on"] = dt.date.today()
    errors = st.session_state.get(errors_key, {})
    raw = render_form(pack, form.fields, prefix, errors)
    if st.button(button, type="primary"):
        case = jsonable(raw)
        try:
            problems = missing_required(form.fields, case)
            if problems:
                raise CaseError(problems)
            stored, _ = take_intake(repo, pack, case, actor=actor)
        except CaseError as err:
            st.session_state[errors_key] = {i.key: i.render() for i in err.issues}
            st.rerun()
        except StorageError as err:
            st.error(f"保存できませんでした。入力内容はそのまま残っています。{err}")
        else:
            st.session_state.pop(errors_key, None)
            st.session_state[f"{prefix}.__saved"] = stored
            st.rerun()
    if errors:
        st.error(f"入力に {len(errors)} 件の誤りがあります。各項目の下の説明を見て直してください。入力した内容は残っています。")
