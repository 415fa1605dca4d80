"""One root exception for the project, and errors as data.

Errors carry codes and facts first (file, key path, line); the Japanese wording is
made when they are shown, so the CLI and the UI render the same error the same way.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Iterable


class TsunaguError(Exception):
    """Root of every error this project raises on purpose."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a configuration pack.

    ``key`` is the path inside the file, e.g. ``rules[3].when.all[0].fact``.
    """

    file: str
    key: str
    message: str
    line: int | None = None
    hint: str = ""

    def render(self) -> str:
        """Japanese, one line: where, what, and what to do.

        >>> ConfigIssue("rules.yaml", "rules[0].id", "IDが重複しています", 12, "別のIDにしてください").render()
        'rules.yaml 12行目 rules[0].id: IDが重複しています（対処: 別のIDにしてください）'
        """
        where = self.file
        if self.line is not None:
            where += f" {self.line}行目"
        text = f"{where} {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        if self.hint:
            text += f"（対処: {self.hint}）"
        return text


class ConfigError(TsunaguError):
    """The pack did not load; ``issues`` lists every problem found, not only the first."""

    def __init__(self, issues: Iterable[ConfigIssue]):
        self.issues: tuple[ConfigIssue, ...] = tuple(issues)
        super().__init__(self.render())

    def render(self) -> str:
        head = f"設定にエラーが{len(self.issues)}件あります。"
        return "\n".join([head, *("- " + i.render() for i in self.issues)])


@dataclass(frozen=True)
class CaseIssue:
    """One problem in a consultation (a case) given to the engine or a form."""

    key: str
    message: str
    hint: str = ""

    def render(self) -> str:
        text = f"{self.key}: {self.message}" if self.key else self.message
        return text + (f"（対処: {self.hint}）" if self.hint else "")


class CaseError(TsunaguError):
    """A case could not be read: wrong type, unknown choice, broken file."""

    def __init__(self, issues: Iterable[CaseIssue]):
        self.issues: tuple[CaseIssue, ...] = tuple(issues)
        super().__init__("\n".join(i.render() for i in self.issues))


class StorageError(TsunaguError):
    """The store could not do what was asked; nothing was half-written."""


class ConflictError(StorageError):
    """Someone else saved the record after it was read: the save is refused, not merged."""


@dataclass(frozen=True)
class Suggestion:
    """Closest valid ids for an unknown one (``もしかして``)."""

    options: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        return f"もしかして: {'、'.join(self.options)}" if self.options else ""


def did_you_mean(unknown: str, valid: Iterable[str]) -> str:
    """Hint text naming the closest valid ids, or the valid ids when few.

    >>> did_you_mean("care_ned", ["care_need", "dementia"])
    'もしかして: care_need（使えるID: care_need、dementia）'
    >>> did_you_mean("sd13", [f"sd{i:02d}" for i in range(1, 13)])
    'もしかして: sd12、sd11、sd10'
    """
    valid = sorted({str(v) for v in valid})
    close = difflib.get_close_matches(str(unknown), valid, n=3, cutoff=0.5)
    listing = "使えるID: " + "、".join(valid) if valid and len(valid) <= 8 else ""
    if close:
        text = Suggestion(tuple(close)).text()
        return f"{text}（{listing}）" if listing and len(valid) > len(close) else text
    return listing
