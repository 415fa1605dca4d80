"""No city in the code: every id and name of every bundled pack is looked for in engine/,
storage/ and ui/, and a hit outside comments and docstrings (doctests live there) fails.

The only names allowed are the pack format's own (``engine.pack.contract``: list names,
the forms and fields the code reads, urgent / yes / admin) and a few ordinary Japanese
words the pages use whatever the city (``COMMON_WORDS``).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.pack import bundled_packs, load_pack
from engine.pack.contract import FORMS, IDS, LISTS, names

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("engine", "storage", "ui")

#: Words a page says as plain Japanese, not as a city's name for something (a pack may
#: happen to use one as a label: Hannan's status 「会議」, channel 「本人」, relation 「子」).
COMMON_WORDS = {"会議", "受付", "本人", "家族", "子", "結果", "役割", "研修生", "関係機関", "支援プラン", "会議記録",
                "相談受付票", "プラン作成", "その他"}
#: English words the code uses for its own meaning, whatever a pack calls its ids.
CODE_WORDS = {
    "no": "YAML 1.1 reads an unquoted no as false; facts.py and editing.py undo and avoid that",
    "unknown": "Cerberus' rule name for an unknown key (schema.py, yamlio.py)",
    "received": "the type of a case's first event (cases.py, case_view.py)",
    "trainee": "the practice store's actor and a session key (研修 pages)",
}


def pack_terms(pack) -> dict[str, str]:
    """Every id and Japanese name of ``pack`` → where it comes from, minus the contract."""
    allowed = names()
    terms: dict[str, str] = {}

    def add(term, where: str) -> None:
        if isinstance(term, str) and term.strip() and term not in allowed and term not in COMMON_WORDS and term not in CODE_WORDS:
            terms.setdefault(term, f"{pack.id}: {where}")

    add(pack.id, "pack id")
    add(pack.name, "pack name")
    add(pack.info["city"]["name"], "city name")
    add(pack.info.get("motto"), "motto")
    for figure in pack.info["report"]["figures"]:
        add(figure["label"], "report figure")
    for list_name, items in pack.vocab.items():
        add(list_name, "list name")
        contract_ids = IDS.get(list_name, ())
        for c in items:
            add(c.id, f"{list_name} id")
            if c.id not in contract_ids:
                add(c.label, f"{list_name} label")
    for rule in pack.rules:
        add(rule.id, "rule id")
        add(rule.label, "rule label")
    for d in pack.derived:
        add(d.id, "derived fact")
        add(d.label, "derived fact label")
    for form_id, form in pack.forms.items():
        add(form_id, "form id")
        add(form.label, "form label")
        for f in form.fields:
            for field in (f, *f.fields):
                add(field.id, f"{form_id} field")
                if field.id not in FORMS.get(form_id, ()):
                    add(field.label, f"{form_id} field label")
    return terms


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def code_strings(path: Path):
    """(line, text) of every string literal in ``path`` (f-strings' text included), docstrings
    left out; comments never reach the syntax tree. Identifiers are not scanned: ``self`` or
    ``child`` there is Python, not a channel or a relation."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            yield node.lineno, node.value


def hits(terms: dict[str, str], files) -> list[str]:
    ascii_terms = {t for t in terms if t.isascii()}
    pattern = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(map(re.escape, sorted(ascii_terms, key=len, reverse=True)))
                         + r")(?![A-Za-z0-9_])") if ascii_terms else None
    japanese = [t for t in terms if not t.isascii()]
    found = []
    for path in files:
        for line, text in code_strings(path):
            matched = set(pattern.findall(text)) if pattern else set()
            matched |= {t for t in japanese if t in text}
            found += [f"{path.name if not path.is_relative_to(ROOT) else path.relative_to(ROOT)}:{line}: 「{t}」（{terms[t]}）" for t in sorted(matched)]
    return found


def test_the_scan_finds_a_city_name_planted_in_code(tmp_path):
    terms = pack_terms(load_pack())
    planted = tmp_path / "planted.py"
    planted.write_text('"""Docstring may say juso_kaigi."""\n# a comment may say 阪南市\n'
                       'MEETING = "juso_kaigi"\nWHERE = f"{1}阪南市にお住まいです"\nIDS = {"multi_agency": 1}\n', encoding="utf-8")
    found = hits(terms, [planted])
    assert len(found) == 3, found
    assert any("juso_kaigi" in f for f in found) and any("阪南市" in f for f in found)
    assert any("multi_agency" in f for f in found)


def test_contract_names_are_in_every_bundled_pack():
    for root in bundled_packs():
        pack = load_pack(root)
        assert set(LISTS) <= set(pack.vocab), root
        for form_id in FORMS:
            assert form_id in pack.forms, root
        for list_name, ids in IDS.items():
            assert set(ids) <= set(pack.ids(list_name)), (root, list_name)


@pytest.mark.parametrize("root", bundled_packs(), ids=lambda p: p.name)
def test_no_id_or_name_of_the_pack_in_the_code(root):
    files = sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py"))
    found = hits(pack_terms(load_pack(root)), files)
    assert not found, "設定パックの ID・名前がコードにあります（pack.yaml などへ移してください）:\n" + "\n".join(found)


def test_no_id_or_name_of_the_init_template_in_the_code(tmp_path):
    from engine.pack.init import init_pack
    init_pack(tmp_path / "p", "試験のための架空市")
    files = sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py"))
    found = hits(pack_terms(load_pack(tmp_path / "p")), files)
    assert not found, "ひな形の ID・名前がコードにあります:\n" + "\n".join(found)
