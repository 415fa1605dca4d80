"""Render a form declared in YAML as Streamlit widgets, and read the values back.

Not an ``st.form``: ``show_if`` must react as staff type. Values live in
``st.session_state`` under ``<prefix>.<field>``, so a failed validation loses nothing.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Mapping

import streamlit as st

from engine.errors import CaseIssue
from engine.pack.model import FormField, Pack
from engine.rules.facts import visible

YES, NO = "はい", "いいえ"


def _label(f: FormField) -> str:
    return f"{f.label}（必須）" if f.required else f.label


def _widget(pack: Pack, f: FormField, key: str) -> Any:
    help_text = f.help or None
    if f.type == "text":
        return st.text_input(_label(f), key=key, help=help_text)
    if f.type == "textarea":
        return st.text_area(_label(f), key=key, help=help_text, height=100)
    if f.type == "integer":
        # No min_value/max_value: Streamlit would answer out-of-range input in English; the
        # engine's check names the field and its bounds in Japanese.
        return st.number_input(_label(f), key=key, help=help_text, value=None, step=1, placeholder="数字で入力")
    if f.type == "date":
        return st.date_input(_label(f), key=key, help=help_text, value=None, format="YYYY-MM-DD",
                             min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31))
    if f.type == "boolean":
        choice = st.radio(_label(f), [YES, NO], key=key, help=help_text, index=None, horizontal=True)
        return None if choice is None else choice == YES
    names = {c.id: c.label for c in pack.choices(f.choices or "")}
    if f.type == "select":
        return st.selectbox(_label(f), list(names), key=key, help=help_text, index=None,
                            format_func=lambda i: names.get(i, i), placeholder="選択してください")
    if f.type == "multiselect":
        return st.multiselect(_label(f), list(names), key=key, help=help_text,
                              format_func=lambda i: names.get(i, i), placeholder="選択してください", select_all=False, wrap=True)
    raise ValueError(f.type)


def issue_text(issue: CaseIssue) -> str:
    """An issue as staff read it: the message names the field by its label, never its key."""
    return issue.message + (f"（{issue.hint}）" if issue.hint else "")


def _errors_for(errors: Mapping[str, str], key: str) -> None:
    for k, message in errors.items():
        if k == key or k.startswith(key + "["):
            st.error(message, icon="⚠️")


def _repeat(pack: Pack, f: FormField, prefix: str, errors: Mapping[str, str]) -> list[dict]:
    rows_key = f"{prefix}.{f.id}.__rows"
    rows: list[str] = st.session_state.setdefault(rows_key, [])
    st.markdown(f"**{f.label}**")
    out = []
    for i, row in enumerate(list(rows)):
        with st.container(border=True):
            head, remove = st.columns([5, 1])
            head.markdown(f"{f.item_label or f.label} {i + 1}")
            if remove.button("削除", key=f"{prefix}.{f.id}.{row}.__remove"):
                rows.remove(row)
                st.rerun()
            cols = st.columns(len(f.fields))
            values = {}
            for col, child in zip(cols, f.fields):
                with col:
                    values[child.id] = _widget(pack, child, f"{prefix}.{f.id}.{row}.{child.id}")
                    _errors_for(errors, f"{f.id}[{i}].{child.id}")
            out.append({k: v for k, v in values.items() if v not in (None, "", [])})
    if not f.max_items or len(rows) < f.max_items:
        if st.button(f"＋ {f.item_label or f.label}を追加", key=f"{prefix}.{f.id}.__add"):
            rows.append(uuid.uuid4().hex[:8])
            st.rerun()
    return out


def render_form(pack: Pack, fields: tuple[FormField, ...], prefix: str, errors: Mapping[str, str] | None = None) -> dict:
    """Draw ``fields``; return the raw values (hidden fields left out)."""
    errors = errors or {}
    raw: dict = {}
    current = read_values(fields, prefix)
    shown = visible(pack, fields, current)
    for f in fields:
        if not shown.get(f.id, True):
            continue
        if f.type == "group":
            st.markdown(f"**{f.label}**")
            group = {}
            for child in f.fields:
                group[child.id] = _widget(pack, child, f"{prefix}.{f.id}.{child.id}")
                _errors_for(errors, f"{f.id}.{child.id}")
            raw[f.id] = group
        elif f.type == "repeat":
            raw[f.id] = _repeat(pack, f, prefix, errors)
        else:
            raw[f.id] = _widget(pack, f, f"{prefix}.{f.id}")
            _errors_for(errors, f.id)
    return raw


def _value(key: str) -> Any:
    value = st.session_state.get(key)
    if value == YES:
        return True
    if value == NO:
        return False
    return value


def read_values(fields: tuple[FormField, ...], prefix: str) -> dict:
    """The values currently held in session state for ``fields`` (before drawing)."""
    out: dict = {}
    for f in fields:
        if f.type == "group":
            out[f.id] = {c.id: _value(f"{prefix}.{f.id}.{c.id}") for c in f.fields}
        elif f.type == "repeat":
            rows = st.session_state.get(f"{prefix}.{f.id}.__rows", [])
            out[f.id] = [{c.id: _value(f"{prefix}.{f.id}.{r}.{c.id}") for c in f.fields} for r in rows]
        else:
            out[f.id] = _value(f"{prefix}.{f.id}")
    return out


def clear_form(fields: tuple[FormField, ...], prefix: str) -> None:
    for key in [k for k in st.session_state if str(k).startswith(prefix + ".")]:
        del st.session_state[key]


def jsonable(raw: Any) -> Any:
    """Widget values (dates) as the JSON the engine and the store take."""
    if isinstance(raw, dict):
        return {k: jsonable(v) for k, v in raw.items() if v not in (None, "", [])}
    if isinstance(raw, list):
        return [jsonable(v) for v in raw]
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return raw


def prefill(fields: tuple[FormField, ...], prefix: str, values: Mapping) -> None:
    """Put stored values into session state once, before the widgets are drawn."""
    marker = f"{prefix}.__filled"
    if st.session_state.get(marker):
        return
    st.session_state[marker] = True

    def put(key: str, f: FormField, value: Any) -> None:
        if value is None:
            return
        if f.type == "date" and isinstance(value, str):
            try:
                value = dt.date.fromisoformat(value)
            except ValueError:
                return
        elif f.type == "boolean":
            value = YES if value else NO
        st.session_state[key] = value

    for f in fields:
        value = values.get(f.id)
        if f.type == "group":
            for c in f.fields:
                put(f"{prefix}.{f.id}.{c.id}", c, (value or {}).get(c.id))
        elif f.type == "repeat":
            rows = []
            for item in value or []:
                row = uuid.uuid4().hex[:8]
                rows.append(row)
                for c in f.fields:
                    put(f"{prefix}.{f.id}.{row}.{c.id}", c, item.get(c.id))
            st.session_state[f"{prefix}.{f.id}.__rows"] = rows
        else:
            put(f"{prefix}.{f.id}", f, value)
