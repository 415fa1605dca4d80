"""docs/pack-guide.md: its key tables are the schemas' (regenerate with python -m engine.pack.guide)."""
from __future__ import annotations

import re

from engine.pack import guide


def test_the_guide_tables_match_the_schemas():
    text = guide.GUIDE.read_text(encoding="utf-8")
    assert guide.render(text) == text, "docs/pack-guide.md の表が設定の検査と違います。python -m engine.pack.guide で作り直してください"


def test_every_file_kind_has_its_table_in_the_guide():
    text = guide.GUIDE.read_text(encoding="utf-8")
    assert set(re.findall(r"<!-- schema: (\S+) -->", text)) == set(guide.SCHEMAS)
    for file in guide.SCHEMAS:
        assert guide.table(file) in text


def test_a_schema_change_shows_as_drift(monkeypatch):
    text = guide.GUIDE.read_text(encoding="utf-8")
    schema, example = guide.SCHEMAS["meetings.yaml"]
    item = schema["meetings"]["schema"]
    room = {**item, "schema": {**item["schema"], "room": {"type": "string", "required": True}}}
    changed = {"meetings": {**schema["meetings"], "schema": room}}
    monkeypatch.setitem(guide.SCHEMAS, "meetings.yaml", (changed, example))
    assert "| `meetings[].room` | 文字列 | 必須 |" in guide.render(text) and guide.render(text) != text


def test_a_table_shows_types_required_allowed_values_and_an_example():
    table = guide.table("meetings.yaml")
    assert "| `meetings[].cadence.kind` | 文字列 | 必須 | `monthly` / `bimonthly` / `on_demand` | `monthly` |" in table
    assert "| `meetings[].id` | ID（半角英小文字・数字・_） | 必須 |  | `juso_kaigi` |" in table
