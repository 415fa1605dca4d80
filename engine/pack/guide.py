"""The key tables of docs/pack-guide.md, generated from the schemas so the guide cannot drift.

Each table lists a file's keys with their type, whether they are required, the values
allowed and an example taken from the init template (``engine/pack/template``).
``python -m engine.pack.guide`` rewrites the tables in the guide; a test compares them.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, Iterator

import yaml

from engine.changes import scenarios
from engine.pack import forms, info, lifecycle, meetings, programs, resources, roles, roster, rules, vocab
from engine.pack.init import TEMPLATE
from engine.pack.schema import _TYPES

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "pack-guide.md"
#: file → (schema, the template file an example is read from)
SCHEMAS: dict[str, tuple[dict, str]] = {
    "pack.yaml": (info.SCHEMA, "pack.yaml"),
    "vocabularies.yaml": (vocab.SCHEMA, "vocabularies.yaml"),
    "roster.yaml": (roster.SCHEMA, "roster.yaml"),
    "programs.yaml": (programs.SCHEMA, "programs.yaml"),
    "resources.yaml": (resources.SCHEMA, "resources.yaml"),
    "meetings.yaml": (meetings.SCHEMA, "meetings.yaml"),
    "lifecycle.yaml": (lifecycle.SCHEMA, "lifecycle.yaml"),
    "roles.yaml": (roles.SCHEMA, "roles.yaml"),
    "rules.yaml": (rules.SCHEMA, "rules.yaml"),
    "forms/*.yaml": (forms.SCHEMA, "forms/intake.yaml"),
    "scenarios/*.yaml": (scenarios.SCHEMA, "scenarios/02_two_fields_consent.yaml"),
}
_MARK = re.compile(r"<!-- schema: (?P<file>\S+) -->\n.*?<!-- /schema -->", re.S)


def _type(rule: dict) -> str:
    kind = rule.get("type", "")
    names = kind if isinstance(kind, list) else [kind]
    text = "・".join(_TYPES.get(n, n) for n in names if n)
    if rule.get("regex", "").startswith("^[a-z]"):
        text = "ID（半角英小文字・数字・_）"
    if kind == "list" and isinstance(rule.get("schema"), dict) and rule["schema"].get("regex", "").startswith("^[a-z]"):
        text = "ID の一覧"
    return text


def _rows(schema: dict, prefix: str = "") -> Iterator[tuple[str, dict]]:
    for key, rule in schema.items():
        path = f"{prefix}{key}"
        yield path, rule
        inner = rule.get("schema")
        if rule.get("type") == "dict" and isinstance(inner, dict) and "type" not in inner:
            yield from _rows(inner, f"{path}.")
        elif rule.get("type") == "list" and isinstance(inner, dict) and inner.get("type") == "dict" and inner.get("schema"):
            yield from _rows(inner["schema"], f"{path}[].")


def _find(node: Any, parts: list[str]) -> Any:
    """The value at ``parts`` (``key[]`` steps into a list: its first item that has the rest)."""
    if not parts:
        return node
    part, rest = parts[0], parts[1:]
    many = part.endswith("[]")
    part = part.removesuffix("[]")
    if not isinstance(node, dict) or part not in node:
        return None
    node = node[part]
    if not many:
        return _find(node, rest)
    for item in node if isinstance(node, list) else ():
        found = _find(item, rest)
        if found is not None:
            return found
    return None


def _example(data: Any, path: str) -> str:
    node = _find(data, path.split("."))
    if node is None:
        return ""
    text = node if isinstance(node, str) else json.dumps(node, ensure_ascii=False)
    text = text.replace("\n", " ").replace("|", "｜")
    return f"`{text[:40]}…`" if len(text) > 40 else f"`{text}`"


def table(file: str) -> str:
    """The markdown table of ``file``'s keys."""
    schema, example_file = SCHEMAS[file]
    data = yaml.safe_load((TEMPLATE / example_file).read_text(encoding="utf-8"))
    lines = ["| キー | 型 | 必須 | 使える値 | 例（tsunagu init のひな形から） |", "|---|---|---|---|---|"]
    for path, rule in _rows(schema):
        allowed = rule.get("allowed") or (rule.get("schema") or {}).get("allowed") or ()
        lines.append(f"| `{path}` | {_type(rule)} | {'必須' if rule.get('required') else ''} | "
                     f"{' / '.join(f'`{a}`' for a in allowed)} | {_example(data, path)} |")
    return "\n".join(lines)


def render(text: str) -> str:
    """``text`` with every ``<!-- schema: FILE -->`` block replaced by the current table."""
    return _MARK.sub(lambda m: f"<!-- schema: {m['file']} -->\n{table(m['file'])}\n<!-- /schema -->", text)


if __name__ == "__main__":
    before = GUIDE.read_text(encoding="utf-8")
    after = render(before)
    GUIDE.write_text(after, encoding="utf-8")
    print("docs/pack-guide.md の表を更新しました。" if after != before else "docs/pack-guide.md の表は最新です。")
    sys.exit(0)
