"""vocabularies.yaml: concerns and their 分野, channels, consent, relations, priorities."""
from __future__ import annotations

from engine.pack.model import Choice, frozen
from engine.pack.schema import ID, LABEL, items
from engine.yamlio import YamlDoc

_CHOICE = {"id": {**ID, "required": True}, "label": LABEL}
SCHEMA = {
    "fields": items(_CHOICE, minlength=1),
    "concerns": items({**_CHOICE, "field": ID}, minlength=1),
    "channels": items(_CHOICE, minlength=1),
    "consent": items(_CHOICE, minlength=1),
    # aliases: other words staff use for the same relation (夫・妻 → 配偶者); accepted in cases
    "relations": items({**_CHOICE, "aliases": {"type": "list", "schema": {"type": "string", "empty": False}}}, minlength=1),
    "priorities": items({**_CHOICE, "rank": {"type": "integer", "required": True}}, minlength=1),
    "meeting_outcomes": items(_CHOICE),
    # Optional: the reason codes staff may pick when they change a recommended routing or
    # return a referral (the free-text reason is always asked for as well).
    "override_reasons": {**items(_CHOICE), "required": False},
    "return_reasons": {**items(_CHOICE), "required": False},
}


def choices(raw: list[dict]) -> tuple[Choice, ...]:
    """Entries as ``Choice``s; every key but id and label is kept as data."""
    return tuple(Choice(str(r["id"]), str(r["label"]), frozen({k: v for k, v in r.items() if k not in ("id", "label")}))
                 for r in raw)


def alias_issues(doc: YamlDoc) -> list[tuple[str, str, str]]:
    """Aliases that clash with another entry's label, alias or id (a word must mean one thing)."""
    out = []
    for name in SCHEMA:
        seen: dict[str, str] = {}
        for i, r in enumerate(doc.data.get(name) or ()):
            for word in (r["id"], r["label"]):
                seen.setdefault(str(word), str(r["id"]))
        for i, r in enumerate(doc.data.get(name) or ()):
            for j, word in enumerate(r.get("aliases") or ()):
                owner = seen.setdefault(word, str(r["id"]))
                if owner != r["id"]:
                    out.append((f"{name}[{i}].aliases[{j}]", f"別名「{word}」は「{owner}」でも使われています",
                                "ひとつの言葉はひとつの続柄だけに使ってください"))
    return out


def alias_text(options: tuple[Choice, ...]) -> str:
    """「夫・妻 → 配偶者、…」: the other words a list accepts, for messages and the editor."""
    return "、".join(f"{'・'.join(c.get('aliases'))} → {c.label}" for c in options if c.get("aliases"))


def build(doc: YamlDoc) -> dict[str, tuple[Choice, ...]]:
    return {name: choices(doc.data.get(name) or []) for name in SCHEMA}
