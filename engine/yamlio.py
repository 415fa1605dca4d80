"""Read YAML keeping what a good error message needs: the line of every key.

PyYAML silently keeps the last of two equal keys; a staff member who pasted a rule twice
would lose one without noticing, so duplicates are reported instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.bounded import InputLimit, check_yaml
from engine.errors import ConfigIssue


@dataclass(frozen=True)
class YamlDoc:
    """A parsed file: its data, and the 1-based line of each key path."""

    file: str
    data: Any
    lines: dict[str, int]

    def line(self, key: str) -> int | None:
        """Line of ``key`` or of its closest parent that has one.

        >>> YamlDoc("f", {}, {"a": 2, "a.b": 3}).line("a.b[0].c")
        3
        """
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return self.lines.get("", 1)


def join(path: str, key: Any) -> str:
    """Key path notation used in every message: ``rules[3].when``.

    >>> join("rules", 3), join("rules[3]", "when"), join("", "rules")
    ('rules[3]', 'rules[3].when', 'rules')
    """
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def _walk(node: yaml.Node, path: str, lines: dict[str, int], issues: list[ConfigIssue], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                issues.append(ConfigIssue(
                    file, join(path, key), f"キー「{key}」が重複しています（{seen[key]}行目にもあります）", line,
                    "どちらか一方を消してください。後に書いた方だけが使われ、もう一方は黙って捨てられてしまいます"))
            seen[key] = line
            sub = join(path, key)
            lines[sub] = line
            _walk(value_node, sub, lines, issues, file)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, join(path, i), lines, issues, file)


def _explain(err: yaml.MarkedYAMLError) -> tuple[str, str, bool]:
    """PyYAML's English problem as Japanese; and whether the opening mark is the better line.

    For an unclosed ``{`` or ``[`` PyYAML notices only on a later line; the line that
    opened the bracket (its context mark) is where the mistake is.
    """
    problem, context = err.problem or "", err.context or ""
    if "flow mapping" in context or "flow sequence" in context or problem.startswith("expected ',' or"):
        return "かっこ { } や [ ] が閉じていません", "この行のかっこを閉じてください（例: {fact: consent, op: \"=\", value: \"yes\"}）", True
    if "found character '\\t'" in problem:
        return "タブ文字は使えません", "字下げは半角スペースで書いてください", False
    if "mapping values are not allowed" in problem:
        return "ここに「キー: 値」は書けません", "コロンの後に半角スペースがあるか、値に「:」を含むなら引用符で囲んでください", False
    if "could not find expected ':'" in problem or "simple key" in context:
        return "「キー: 値」のコロンが見つかりません", "キーの後に「: 」を書いてください", False
    if "expected <block end>" in problem or "did not find expected" in problem:
        return "字下げがそろっていません", "同じ階層の行は同じ数の半角スペースで字下げしてください", False
    if "found unexpected end of stream" in problem or "found unknown escape" in problem or "quoted scalar" in context:
        return "引用符（\" や '）が閉じていません", "値を囲む引用符を閉じてください", True
    return f"YAML として読めません（{problem or context}）", "字下げ（半角スペース）、コロンの後の空白、かっこや引用符の閉じ忘れを確かめてください", False


def parse_yaml(text: str, file: str) -> tuple[YamlDoc | None, list[ConfigIssue]]:
    """Parse ``text``; on a syntax error (or past a limit of engine/bounded.py: aliases,
    nesting, digits, size) return no document and one issue with its line."""
    try:
        check_yaml(text, file)
    except InputLimit as err:
        return None, [ConfigIssue(file, "", err.detail, err.line, "別名（& と *）を使わず、入れ子を浅く、ファイルを小さくしてください")]
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        what, hint, use_context = _explain(err)
        mark = (err.context_mark if use_context else None) or err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        return None, [ConfigIssue(file, "", f"YAML の書き方に誤りがあります: {what}", line, hint)]
    except yaml.YAMLError as err:
        return None, [ConfigIssue(file, "", f"YAML として読めません: {err}", None, "ファイルの内容を確かめてください")]
    issues: list[ConfigIssue] = []
    lines: dict[str, int] = {}
    if node is not None:
        _walk(node, "", lines, issues, file)
    return YamlDoc(file, data, lines), issues


def read_yaml(path: Path, root: Path) -> tuple[YamlDoc | None, list[ConfigIssue]]:
    """Read a file of the pack; ``root`` makes the file name in messages relative."""
    name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        return None, [ConfigIssue(name, "", "ファイルがありません", None, "設定パックにこのファイルを置いてください")]
    except UnicodeDecodeError:
        return None, [ConfigIssue(name, "", "UTF-8 で読めません", None, "ファイルを UTF-8 で保存し直してください")]
    return parse_yaml(text, name)
