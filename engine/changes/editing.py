"""Changing pack files the way staff edit them: in place, keeping comments and key order.

PyYAML would drop every comment on saving; ruamel.yaml round-trips them, so a city's
notes in rules.yaml survive edits made in the browser.
"""
from __future__ import annotations

import io
import re
from typing import Any, Callable, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from engine.errors import TsunaguError


class EditError(TsunaguError):
    """An edit that names something the file does not have."""


def _yaml() -> YAML:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def edit_yaml(text: str, mutate: Callable[[Any], None]) -> str:
    """Load ``text`` round-trip, let ``mutate`` change the document, dump it back.

    >>> edit_yaml("# note\\na: 1  # keep\\nb: 2\\n", lambda d: d.__setitem__("b", 3))
    '# note\\na: 1  # keep\\nb: 3\\n'
    """
    y = _yaml()
    doc = y.load(text)
    mutate(doc)
    out = io.StringIO()
    y.dump(doc, out)
    return out.getvalue()


_MISREAD = re.compile(r"^(y|yes|n|no|true|false|on|off|null|~|[-+]?[0-9][0-9_.:e+-]*)$", re.IGNORECASE)


def flowed(value: Any, inline_maps: bool = True) -> Any:
    """Plain data as ruamel nodes, small mappings written inline ({fact: …, op: …}).

    Strings YAML would read as something else ("yes", "no", "01") are quoted.
    """
    if isinstance(value, str) and _MISREAD.match(value):
        return DoubleQuotedScalarString(value)
    if isinstance(value, Mapping):
        node = CommentedMap((k, flowed(v, inline_maps)) for k, v in value.items())
        if inline_maps and len(value) <= 4 and all(
                not isinstance(v, (Mapping, list, tuple)) or _short_list(v) for v in value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, (list, tuple)):
        node = CommentedSeq(flowed(v, inline_maps) for v in value)
        if _short_list(value):
            node.fa.set_flow_style()
        return node
    return value


def _short_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, bool)) for v in value)


def _index(doc: Any, list_key: str, item_id: str) -> int:
    for i, item in enumerate(doc.get(list_key) or []):
        if item.get("id") == item_id:
            return i
    raise EditError(f"「{item_id}」は {list_key} にありません。画面を開き直してください。")


def put_item(text: str, list_key: str, item: Mapping, replace_id: str | None = None, position: int | None = None) -> str:
    """Replace the item ``replace_id`` of ``list_key`` (or add ``item`` at ``position``/the end)."""
    def mutate(doc: Any) -> None:
        items = doc.setdefault(list_key, CommentedSeq())
        node = flowed(item)
        if replace_id is not None:
            items[_index(doc, list_key, replace_id)] = node
        elif position is None:
            items.append(node)
        else:
            items.insert(position, node)
    return edit_yaml(text, mutate)


def delete_item(text: str, list_key: str, item_id: str) -> str:
    return edit_yaml(text, lambda doc: doc[list_key].pop(_index(doc, list_key, item_id)))


def move_item(text: str, list_key: str, item_id: str, delta: int) -> str:
    """Move an item up (-1) or down (+1); at either end it stays."""
    def mutate(doc: Any) -> None:
        items = doc[list_key]
        i = _index(doc, list_key, item_id)
        j = max(0, min(len(items) - 1, i + delta))
        if i != j:
            items.insert(j, items.pop(i))
    return edit_yaml(text, mutate)


def set_field(text: str, list_key: str, item_id: str, key: str, value: Any) -> str:
    """Set one key of one item (e.g. a rule's ``enabled``, a meeting's ``cadence``)."""
    def mutate(doc: Any) -> None:
        doc[list_key][_index(doc, list_key, item_id)][key] = flowed(value)
    return edit_yaml(text, mutate)
