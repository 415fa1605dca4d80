"""The 相談受付票 with its submit button: shared by the live intake and the training sandbox,
which differ only in the store they save to."""
from __future__ import annotations

import streamlit as st

from engine.casework.cases import take_intake
from engine.casework.wareki import today
from engine.errors import CaseError, StorageError
from engine.pack.model import Pack
from engine.rules.facts import form_issues
from ui.form_view import issue_text, jsonable, read_values, render_form


def form_errors(pack: Pack, fields, prefix: str) -> dict[str, str]:
    """Every problem of the values now in the form, by field key (all at once, in Japanese)."""
    _, issues = form_issues(pack, fields, jsonable(read_values(fields, prefix)))
    return {i.key: issue_text(i) for i in issues}


def error_summary(errors: dict[str, str]) -> None:
    st.error(f"入力に {len(errors)} 件の誤りがあります。入力した内容は残っています。直すと、その項目の説明は消えます。\n\n"
             + "\n".join(f"- {text}" for text in errors.values()))


def intake_form(pack: Pack, repo, prefix: str, button: str, actor: str) -> None:
    """Draw the form; on submit validate, decide and save, keeping every value on an error.

    After a refused submit the form is checked again on every change, so a fixed field's
    message goes at once. The saved case lands in ``st.session_state[f"{prefix}.__saved"]``.
    """
    form = pack.intake
    tried_key = f"{prefix}.__tried"
    if f"{prefix}.received_on" not in st.session_state:
        st.session_state[f"{prefix}.received_on"] = today()
    errors = form_errors(pack, form.fields, prefix) if st.session_state.get(tried_key) else {}
    if errors:
        error_summary(errors)
    raw = render_form(pack, form.fields, prefix, errors)
    if st.button(button, type="primary"):
        st.session_state[tried_key] = True
        try:
            stored, _ = take_intake(repo, pack, jsonable(raw), actor=actor)
        except CaseError:
            st.rerun()                  # the rerun shows every problem, by field
        except StorageError as err:
            st.error(f"保存できませんでした。入力内容はそのまま残っています。{err}")
        else:
            st.session_state.pop(tried_key, None)
            st.session_state[f"{prefix}.__saved"] = stored
            st.rerun()
