"""Every kind of configuration mistake a staff member can make, and the message it gives.

Each folder in ``tests/broken_packs/`` is one mistake: only the file(s) that differ from
the Hannan pack, and ``expect.yaml`` naming the issue the loader must report (file, key
path, line, and substrings of the message and hint). A file named ``DELETE_<name>``
removes ``<name>`` from the copy instead. ``expect.yaml`` may hold ``issues:`` (a list)
when one pack must report several problems at once.

To add a case, make a folder with the broken file and its ``expect.yaml``; no code.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from engine.errors import ConfigError, ConfigIssue
from engine.pack import DEFAULT_PACK, load_pack

CASES_DIR = Path(__file__).parent / "broken_packs"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "expect.yaml").is_file())
DELETE = "DELETE_"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def broken_pack(case: str, tmp_path: Path) -> Path:
    """A copy of the Hannan pack with the case's files laid over it."""
    pack = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, pack)
    case_dir = CASES_DIR / case
    for src in sorted(case_dir.rglob("*")):
        if not src.is_file() or src == case_dir / "expect.yaml":
            continue
        rel = src.relative_to(case_dir)
        if src.name.startswith(DELETE):
            target = pack / rel.parent / src.name[len(DELETE):]
            assert target.exists(), f"{case}: {src.name} deletes a file the Hannan pack does not have"
            target.unlink()
        else:
            (pack / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, pack / rel)
    return pack


def expected_issues(case: str) -> list[dict]:
    data = yaml.safe_load((CASES_DIR / case / "expect.yaml").read_text(encoding="utf-8"))
    return data["issues"] if "issues" in data else [data]


def load_errors(case: str, tmp_path: Path) -> tuple[ConfigIssue, ...]:
    with pytest.raises(ConfigError) as caught:
        load_pack(broken_pack(case, tmp_path))
    return caught.value.issues


def _parts(value) -> list[str]:
    """``message`` / ``hint`` in expect.yaml: one substring, or a list that must all appear."""
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def matches(issue: ConfigIssue, want: dict) -> bool:
    return (issue.file == want["file"] and issue.key == want["key"] and issue.line == want["line"]
            and all(p in issue.message for p in _parts(want["message"]))
            and all(p in issue.hint for p in _parts(want.get("hint", ""))))


def test_every_case_has_its_broken_file():
    assert len(CASES) >= 16
    for case in CASES:
        files = [p for p in (CASES_DIR / case).rglob("*") if p.is_file() and p.name != "expect.yaml"]
        assert files, f"{case}: no broken file next to expect.yaml"


def test_hannan_pack_loads_without_issues():
    pack = load_pack(DEFAULT_PACK)
    assert pack.id == "hannan"
    assert pack.rules


@pytest.mark.parametrize("case", CASES)
def test_broken_pack_reports_the_issue(case, tmp_path):
    issues = load_errors(case, tmp_path)
    printed = "\n".join(repr(i) for i in issues)
    for want in expected_issues(case):
        assert any(matches(i, want) for i in issues), f"{case}: expected {want}\nloader reported:\n{printed}"


@pytest.mark.parametrize("case", ["several_file_issues", "several_rule_issues"])
def test_config_error_collects_every_issue_not_only_the_first(case, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_pack(broken_pack(case, tmp_path))
    wanted = expected_issues(case)
    assert len(caught.value.issues) >= len(wanted) >= 3
    assert f"設定にエラーが{len(caught.value.issues)}件あります。" in str(caught.value)
    for want in wanted:
        assert sum(matches(i, want) for i in caught.value.issues) == 1, want


@pytest.mark.parametrize("case", CASES)
def test_rendered_issue_is_japanese_and_says_where(case, tmp_path):
    for issue in load_errors(case, tmp_path):
        text = issue.render()
        assert "\n" not in text
        assert JAPANESE.search(issue.message), text
        assert text.startswith(issue.file), text
        if issue.key:
            assert issue.line is not None, f"a key inside a file always has a line: {text}"
        if issue.line is not None:
            assert f"{issue.line}行目" in text, text
