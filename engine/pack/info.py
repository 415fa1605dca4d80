"""pack.yaml: the city's name, the report's figures and the training narrative's wording.

Everything the code would otherwise have to know about one city lives here, so the code
names no city, program, meeting or channel of its own.
"""
from __future__ import annotations

import string
from typing import Any, Mapping

from engine.pack.contract import IDS
from engine.pack.refs import RefChecker
from engine.pack.schema import ID, LABEL
from engine.yamlio import YamlDoc

TEXT = {"type": "string", "required": True, "empty": False}
_FIGURE = {"type": "dict", "schema": {
    "label": LABEL,
    "programs": {"type": "list", "schema": ID},
    "meetings": {"type": "list", "schema": ID},
}}

SCHEMA = {
    "id": {**ID, "required": True},
    "name": LABEL,
    "example": {"type": "boolean"},
    "motto": {"type": "string"},
    "legal_basis": {"type": "string"},
    "profile": {"type": "dict"},
    "city": {"type": "dict", "required": True, "schema": {
        "name": LABEL,
        "office": {**ID, "required": True},
    }},
    "report": {"type": "dict", "required": True, "schema": {
        "figures": {"type": "list", "required": True, "schema": _FIGURE},
    }},
    "narrative": {"type": "dict", "required": True, "schema": {
        "channels": {"type": "dict", "required": True, "keysrules": ID, "valuesrules": {"type": "string", "empty": False}},
        "other_channel": TEXT,
        "lives_in": TEXT,
        "lives_outside": TEXT,
        "lives_unknown": TEXT,
        "consent": {"type": "dict", "required": True, "keysrules": {"type": "string"},
                    "valuesrules": {"type": "string", "empty": False}},
        "consent_unknown": TEXT,
    }},
}

#: The placeholders each narrative sentence may use: {who} is 「70歳の方」, {reporter} is
#: 「（隣に住む人）」 or empty, {source} the caller (reporter and channel), {area} 「（第1圏域）」 or empty.
NARRATIVE_FIELDS = {
    "channels": {"who", "reporter", "source"},
    "other_channel": {"who", "reporter", "source"},
    "lives_in": {"city", "area"},
    "lives_outside": {"city"},
    "lives_unknown": {"city"},
    "consent": set(),
    "consent_unknown": set(),
}


def _placeholders(text: str) -> set[str] | None:
    """The ``{name}`` placeholders in ``text``; None when the braces are broken.

    >>> sorted(_placeholders("{city}{area}にお住まいです。")), _placeholders("{city")
    (['area', 'city'], None)
    """
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return None


def check_info(doc: YamlDoc, checker: RefChecker) -> None:
    """References from pack.yaml into the other files, and the narrative's placeholders."""
    data: Mapping[str, Any] = doc.data
    for list_name, ids in IDS.items():
        for needed in ids:
            if needed not in checker.ids(list_name):
                checker.add(doc, "", f"{list_name} に ID「{needed}」がありません（アプリがこの ID を使います）",
                            "docs/pack-guide.md の「どのパックにも必要な ID」を見てください")
    checker.ref(doc, "city.office", data["city"]["office"], "divisions", what="課（roster.yaml divisions）")
    for i, figure in enumerate(data["report"]["figures"]):
        key = f"report.figures[{i}]"
        checker.refs(doc, f"{key}.programs", figure.get("programs"), "programs", what="事業（programs.yaml）")
        checker.refs(doc, f"{key}.meetings", figure.get("meetings"), "meetings", what="会議（meetings.yaml）")
        if not figure.get("programs") and not figure.get("meetings"):
            checker.add(doc, key, "数える事業も会議もありません", "programs か meetings を書いてください")
    narrative = data["narrative"]
    for channel in narrative["channels"]:
        checker.ref(doc, f"narrative.channels.{channel}", channel, "channels", what="相談経路（channels）")
    for consent in narrative["consent"]:
        checker.ref(doc, f"narrative.consent.{consent}", str(consent), "consent", what="本人同意（consent）")
    for name, allowed in NARRATIVE_FIELDS.items():
        texts = narrative[name].items() if isinstance(narrative[name], dict) else [("", narrative[name])]
        for sub, text in texts:
            key = f"narrative.{name}" + (f".{sub}" if sub else "")
            found = _placeholders(text)
            if found is None or found - allowed:
                usable = "、".join("{" + a + "}" for a in sorted(allowed)) or "なし"
                checker.add(doc, key, "文の差し込み（{…}）が使えない形です",
                            f"使える差し込み: {usable}。波かっこは {{ }} のように2つ重ねると文字になります")
