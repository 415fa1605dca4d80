"""Limits on what an input file may ask of the machine: size, nesting, aliases, digits.

A YAML alias bomb (``&a [*a, *a, …]`` nested ten deep) expands to billions of items from a
few hundred bytes; nesting 100,000 deep overflows Python's recursion; an age of 5,000
digits is refused by ``int()`` with a traceback. Every case file and configuration file is
checked here first, on the parser's event stream (which never expands an alias), so a
hostile file costs its own size and nothing more, and the answer is one Japanese sentence.
"""
from __future__ import annotations

import re

import yaml

MAX_BYTES = 1_000_000          # a case or a config file is a few kilobytes; a megabyte is already absurd
MAX_DEPTH = 32                 # rules nest all/any/not a few levels; 32 is far beyond any real pack
MAX_DIGITS = 20                # an age, a count or a year never needs more
_NUMBER = re.compile(r"^[-+]?[0-9_]*\.?[0-9_]+([eE][-+]?[0-9]+)?$")


class InputLimit(ValueError):
    """The input goes past a limit; ``str()`` is the Japanese message with the file and line."""

    def __init__(self, what: str, detail: str, line: int | None = None):
        super().__init__(f"{what}{f' {line}行目' if line else ''}: {detail}")
        self.detail, self.line = detail, line


def check_size(raw: bytes | str, what: str) -> None:
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > MAX_BYTES:
        raise InputLimit(what, f"ファイルが大きすぎます（{size:,} バイト。上限 {MAX_BYTES:,} バイト）。"
                               "ファイルを確かめてください")


def decode(raw: bytes, what: str) -> str:
    """UTF-8 text, a leading BOM (as Windows editors write it) accepted and dropped."""
    check_size(raw, what)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputLimit(what, f"UTF-8 として読めません（{err.start} バイト目）。UTF-8 で保存し直してください") from None


def check_yaml(text: str, what: str) -> None:
    """Refuse aliases and anchors, nesting deeper than MAX_DEPTH and absurdly long numbers.

    Runs on PyYAML's events: nothing is built, no alias is expanded. Syntax errors are left
    for the real parse, which explains them with a line number.
    """
    check_size(text, what)
    # libyaml's parser is fast but refuses some deep input with its own error; the Python
    # parser then finds the limit (or the syntax error, left for the real parse to explain).
    for loader in dict.fromkeys((getattr(yaml, "CSafeLoader", yaml.SafeLoader), yaml.SafeLoader)):
        try:
            _walk_events(text, what, loader)
            return
        except yaml.YAMLError:
            continue


def _walk_events(text: str, what: str, loader: type) -> None:
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise InputLimit(what, "YAML の別名（& や *）は使えません。同じ内容が必要なら、その場所にそのまま書いてください",
                             line)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputLimit(what, f"入れ子が深すぎます（{MAX_DEPTH} 段まで）", line)
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent) and event.implicit[0]:
            _check_number(event.value, what, line)


def check_json(text: str, what: str) -> None:
    """Refuse JSON nested deeper than MAX_DEPTH (counted without parsing, strings skipped)."""
    check_size(text, what)
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputLimit(what, f"入れ子が深すぎます（{MAX_DEPTH} 段まで）")
        elif char in "]}":
            depth -= 1


def json_number(text: str, where: str = "JSON") -> int | float:
    """``parse_int``/``parse_float`` for ``json.loads``: refuse numbers with absurd digit counts."""
    _check_number(text, where)
    return float(text) if any(c in text for c in ".eE") else int(text)


def _check_number(text: str, where: str, line: int | None = None) -> None:
    if len(text) > MAX_DIGITS and _NUMBER.match(text.replace(",", "")):
        raise InputLimit(where, f"数値の桁数が多すぎます（{len(text)} 桁。{MAX_DIGITS} 桁まで）", line)
