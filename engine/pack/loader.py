"""``load_pack``: read every file, validate each, then references, then rules.

Nothing is returned until the whole pack is valid, so a broken edit can never become
the live configuration half-applied.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Mapping

from engine.bounded import MAX_BYTES
from engine.errors import ConfigError, ConfigIssue, did_you_mean
from engine.pack import forms, info as pack_info, lifecycle, meetings, programs, resources, roles, roster, rules, vocab
from engine.pack.model import Pack, frozen
from engine.pack.reach import why_never
from engine.pack.refs import RefChecker, check_references, check_rule_refs
from engine.pack.schema import check
from engine.rules.conditions import FactInfo, Parser
from engine.yamlio import YamlDoc, parse_yaml

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"
#: The bundled pack used when no --config is given; its folder is named in config/DEFAULT, not in code.
DEFAULT_PACK = CONFIG_DIR / (CONFIG_DIR / "DEFAULT").read_text(encoding="utf-8").strip()


def bundled_packs() -> list[Path]:
    """Every pack folder shipped under config/ (the default first)."""
    return sorted((p.parent for p in CONFIG_DIR.glob("*/pack.yaml")), key=lambda p: (p != DEFAULT_PACK, p.name))
FILES = {
    "pack.yaml": pack_info.SCHEMA,
    "vocabularies.yaml": vocab.SCHEMA,
    "roster.yaml": roster.SCHEMA,
    "programs.yaml": programs.SCHEMA,
    "resources.yaml": resources.SCHEMA,
    "meetings.yaml": meetings.SCHEMA,
    "lifecycle.yaml": lifecycle.SCHEMA,
    "rules.yaml": rules.SCHEMA,
    "roles.yaml": roles.SCHEMA,
}
REQUIRED_FORMS = ("intake", "plan", "meeting_record")


def read_sources(root: Path) -> dict[str, str]:
    """Every YAML file of a pack folder as ``relative name → text`` (scenarios included)."""
    if not root.is_dir():
        raise ConfigError([ConfigIssue(str(root), "", "設定パックのフォルダがありません", None, "--config でフォルダを指定してください")])
    out = {}
    for path in sorted(root.rglob("*.yaml")):
        name = path.relative_to(root).as_posix()
        size = path.stat().st_size
        if size > MAX_BYTES:          # refused before it is read: a pack file is a few kilobytes
            raise ConfigError([ConfigIssue(name, "", f"ファイルが大きすぎます（{size:,} バイト。上限 {MAX_BYTES:,} バイト）", None,
                                           "ファイルを確かめてください")])
        try:
            out[name] = path.read_bytes().decode("utf-8-sig")      # a BOM (Windows editors) is dropped
        except UnicodeDecodeError:
            raise ConfigError([ConfigIssue(name, "", "UTF-8 で読めません", None, "ファイルを UTF-8 で保存し直してください")]) from None
    return out


def _parse_all(sources: Mapping[str, str]) -> tuple[dict[str, YamlDoc], list[ConfigIssue]]:
    docs: dict[str, YamlDoc] = {}
    issues: list[ConfigIssue] = []
    for name in sorted(sources):
        if "/" not in name and name not in FILES:
            issues.append(ConfigIssue(name, "", "設定パックが知らないファイルです", None,
                                      did_you_mean(name, FILES) or "ファイル名を確かめてください"))
    for name, schema in FILES.items():
        if name not in sources:
            issues.append(ConfigIssue(name, "", "ファイルがありません", None, "設定パックにこのファイルを置いてください"))
            continue
        doc, errs = parse_yaml(sources[name], name)
        issues += errs
        if doc is not None and not errs:
            issues += check(doc, schema)
            docs[name] = doc
    for form_id in REQUIRED_FORMS:
        if f"forms/{form_id}.yaml" not in sources:
            issues.append(ConfigIssue(f"forms/{form_id}.yaml", "", "フォームのファイルがありません", None, "このフォームを置いてください"))
    for name in sorted(n for n in sources if n.startswith("forms/") and n.count("/") == 1):
        doc, errs = parse_yaml(sources[name], name)
        issues += errs
        if doc is not None and not errs:
            issues += check(doc, forms.SCHEMA)
            docs[name.removesuffix(".yaml")] = doc
    return docs, issues


def _fact_catalog(form) -> dict[str, FactInfo]:
    """Case-level facts of a form: its fields, and a group's fields as ``group.field``."""
    out = {}
    for f in form.fields:
        if f.type == "group":
            for c in f.fields:
                out[f"{f.id}.{c.id}"] = FactInfo(f"{f.id}.{c.id}", f"{f.label}の{c.label}", c.type, c.choices, c.min, c.max)
        elif f.type != "repeat":
            out[f.id] = FactInfo(f.id, f.label, f.type, f.choices, f.min, f.max)
    return out


def _build_form(doc: YamlDoc, lists, issues: list[ConfigIssue]):
    for key, message, hint in forms.structure_issues(doc.data["fields"], "fields"):
        issues.append(ConfigIssue(doc.file, key, message, doc.line(key), hint))
    plain = forms.form(doc.data, tuple(forms.build_field(f, None, tuple(forms.build_field(c) for c in f.get("fields") or ()))
                                       for f in doc.data["fields"]))
    catalog = _fact_catalog(plain)
    parser = Parser(doc, catalog, {}, lambda name: tuple(c.id for c in lists.get(name, ())))

    def build(raw: dict, path: str, inner: dict | None) -> forms.FormField:
        if raw.get("choices") and raw["choices"] not in lists:
            key = f"{path}.choices"
            issues.append(ConfigIssue(doc.file, key, f"選択肢の一覧「{raw['choices']}」はありません", doc.line(key), did_you_mean(raw["choices"], lists)))
        show = parser.parse(raw["show_if"], f"{path}.show_if", in_member=False) if raw.get("show_if") else None
        kids = tuple(build(c, f"{path}.fields[{j}]", None) for j, c in enumerate(raw.get("fields") or ()))
        return forms.build_field(raw, show, kids)

    built = forms.form(doc.data, tuple(build(f, f"fields[{i}]", None) for i, f in enumerate(doc.data["fields"])))
    issues.extend(parser.issues)
    return built


def load_pack(root: Path | str = DEFAULT_PACK) -> Pack:
    """Load and validate the pack at ``root``; raise ``ConfigError`` listing every problem."""
    return load_sources(read_sources(Path(root)), str(root))


def load_sources(sources: Mapping[str, str], root: str = "") -> Pack:
    """Load and validate a pack given as ``file name → YAML text`` (a folder, a stored
    version or a draft); raise ``ConfigError`` listing every problem."""
    docs, issues = _parse_all(sources)
    if issues:
        raise ConfigError(issues)
    v = vocab.build(docs["vocabularies.yaml"])
    lists = {**v, **roster.build(docs["roster.yaml"]), "programs": programs.build(docs["programs.yaml"]),
             "resources": resources.build(docs["resources.yaml"]), "meetings": meetings.build(docs["meetings.yaml"]),
             "roles": roles.build(docs["roles.yaml"])}
    vdoc = docs["vocabularies.yaml"]
    issues += [ConfigIssue(vdoc.file, k, m, vdoc.line(k), h) for k, m, h in vocab.alias_issues(vdoc)]
    initial, statuses, on_outcome = lifecycle.build(docs["lifecycle.yaml"])
    lists["statuses"] = statuses
    issues += check_references(docs, lists, lambda: lists)
    info_refs = RefChecker(lists)
    pack_info.check_info(docs["pack.yaml"], info_refs)
    issues += info_refs.issues
    built_forms = {name.split("/", 1)[1]: _build_form(doc, lists, issues) for name, doc in docs.items() if name.startswith("forms/")}
    intake = built_forms["intake"]
    rdoc = docs["rules.yaml"]
    facts = _fact_catalog(intake)
    raw_issues: list[tuple[str, str, str]] = []
    mfacts = rules.member_catalog(intake, rdoc.data["members"], raw_issues, rdoc)
    parser = Parser(rdoc, facts, mfacts, lambda name: tuple(c.id for c in lists.get(name, ())))
    sizes = {name: len(items) for name, items in lists.items()}
    derived = rules.build_derived(rdoc, facts, mfacts, parser, sizes, raw_issues)
    built_rules = rules.build_rules(rdoc, parser, raw_issues)
    issues += [ConfigIssue(rdoc.file, k, m, rdoc.line(k), h) for k, m, h in raw_issues] + parser.issues
    choice_ids = choice_ids_of(lists)
    resource_for = resources.target_groups(docs["resources.yaml"], facts, mfacts, choice_ids, issues)
    issues += check_rule_refs(rdoc, rdoc.data["rules"], lists, {k: f.choices for k, f in facts.items() if f.type == "select"})
    index = {r["id"]: i for i, r in enumerate(rdoc.data["rules"])}
    for rule in built_rules:
        why = why_never(rule.when, facts, choice_ids, mfacts)
        if why:
            key = f"rules[{index[rule.id]}].when"
            issues.append(ConfigIssue(rdoc.file, key, f"ルール「{rule.id}」は決して成り立ちません: {why}", rdoc.line(key),
                                      "条件の値や範囲を確かめてください"))
    if issues:
        raise ConfigError(issues)
    info = docs["pack.yaml"].data
    behaviour = {name: text for name, text in sources.items() if not name.startswith("scenarios/")}
    return Pack(
        id=str(info["id"]), name=str(info["name"]), version=pack_version(behaviour), root=root,
        info=frozen(info), vocab=MappingProxyType(dict(lists)), agencies=lists["agencies"],
        programs=lists["programs"], meetings=lists["meetings"], resources=lists["resources"],
        statuses=statuses, initial_status=initial, on_outcome=MappingProxyType(on_outcome),
        forms=MappingProxyType(built_forms), members=rules.members_of(rdoc), derived=derived,
        rules=built_rules, sources=MappingProxyType(dict(sources)),
        facts=MappingProxyType(facts), member_facts=MappingProxyType(mfacts),
        resource_for=MappingProxyType(resource_for),
        accept_days=MappingProxyType(lifecycle.accept_days(docs["lifecycle.yaml"])))


def choice_ids_of(lists: Mapping) -> Callable[[str], tuple[str, ...]]:
    return lambda name: tuple(c.id for c in lists.get(name, ()))


def pack_version(sources: dict[str, str]) -> str:
    """Content hash of the pack's files (scenarios excluded: they test, not decide).

    >>> pack_version({"a.yaml": "x: 1"}) == pack_version({"a.yaml": "x: 1"})
    True
    """
    h = hashlib.sha256()
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return h.hexdigest()[:12]
