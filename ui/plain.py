r"""Text that staff typed (names, summaries, notes, plans, reasons) shown as text, never as markup.

Streamlit renders markdown (and its own extensions: ``:red[..]``, ``:emoji:``, ``$LaTeX$``)
in st.markdown, headers, captions, alerts and widget labels. An image ``![](http://host/x)``
in a name would make every viewer's browser fetch that URL; a link in 住所 would be a
phishing link. So case data typed by staff goes through ``st.text`` (never parsed) or
``heading`` (escaped HTML, which has no autolinks).

``md`` is for configuration text placed inside markdown (labels, reasons, descriptions): it
backslash-escapes every ASCII punctuation character, so nothing in it is a tag, an image, a
link with a text, a formula or an emoji code. It does not stop GitHub-style autolinks (a
bare ``http://…`` still becomes a link): never use it for what staff type into a case.

>>> md("**太字** ![](http://evil.example/x)")
'\\*\\*太字\\*\\* \\!\\[\\]\\(http\\:\\/\\/evil\\.example\\/x\\)'
"""
from __future__ import annotations

import html
import string
from typing import Any

import streamlit as st

_ESCAPES = {ord(c): "\\" + c for c in string.punctuation}


def md(value: Any) -> str:
    """``value`` as markdown that renders exactly as its text."""
    text = "" if value is None else str(value)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # Two trailing spaces make a markdown line break: a note's lines stay lines.
    return "  \n".join(line.translate(_ESCAPES) for line in lines)


def heading(text: Any) -> None:
    """A subheader-sized line of plain text (a case id and the person's name): escaped HTML,
    so nothing in it is a tag, a link or an image."""
    st.html(f'<div style="font-size:1.5rem;font-weight:600;line-height:1.3;margin:0.5rem 0">'
            f"{html.escape('' if text is None else str(text))}</div>")
