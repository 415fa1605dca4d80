"""Routing scenarios: the pack's own tests, written in YAML by welfare staff.

A scenario file holds ``name``, ``解説`` (why the case routes as it does, for training),
``case`` (a consultation in the intake contract) and ``expect``. Only the keys given in
``expect`` are checked, and lists compare as sets, exactly: a scenario that names three
agencies fails when a fourth one appears, so a rule change never slips by unseen.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from engine.errors import CaseError, ConfigError, ConfigIssue, did_you_mean
from engine.pack.model import Pack, frozen, thawed
from engine.pack.schema import ID, ID_LIST, check
from engine.rules.decide import Decision, decide
from engine.yamlio import YamlDoc, parse_yaml
from engine.rules.facts import LEGACY_CONSENT

# expect key → (the pack list its ids come from, Japanese name of the key)
LIST_KEYS = {
    "programs": ("programs", "事業"),
    "agencies": ("agencies", "機関"),
    "meetings": ("meetings", "会議"),
    "resources": ("resources", "地域資源"),
    "proposed": ("programs", "提案する事業（会議で利用の適否を協議）"),
    "rules": ("rules", "成り立つルール"),
}
KEY_NAMES = {**{k: v[1] for k, v in LIST_KEYS.items()}, "priority": "優先度"}
_LISTS = {key: ID_LIST for key in LIST_KEYS}
SCHEMA = {
    "name": {"type": "string", "required": True, "empty": False},
    "解説": {"type": "string", "required": True, "empty": False},
    "case": {"type": "dict", "required": True, "empty": False},
    "expect": {"type": "dict", "required": True, "empty": False, "schema": {
        **_LISTS, "priority": ID,
        "not": {"type": "dict", "empty": False, "schema": _LISTS}}},
}


@dataclass(frozen=True)
class Scenario:
    """One validated scenario file; ``case`` and ``expect`` are read-only copies."""

    file: str
    name: str
    explanation: str
    case: Mapping[str, Any]
    expect: Mapping[str, Any]


@dataclass(frozen=True)
class ScenarioResult:
    """What running a scenario gave: ``differences`` holds ``(key, expected, got)`` with ids."""

    scenario: Scenario
    passed: bool
    differences: tuple[tuple[str, Any, Any], ...]
    decision: Decision | None
    error: str | None = None


def _pack_ids(pack: Pack, kind: str) -> tuple[str, ...]:
    return tuple(r.id for r in pack.rules) if kind == "rules" else pack.ids(kind)


def _name(pack: Pack, kind: str, item_id: str, ids: bool = True) -> str:
    """Japanese name of an id, e.g. ``地域包括支援センターA（houkatsu_a）``; without the id for staff."""
    if kind == "rules":
        label = next((r.label for r in pack.rules if r.id == item_id), None)
        if label is None:
            return f"{item_id}（不明なID）" if ids else "（設定にないルール）"
    else:
        label = pack.label(kind, item_id)
    return f"{label}（{item_id}）" if ids else label


def _reference_issues(doc: YamlDoc, pack: Pack) -> list[ConfigIssue]:
    """Ids in ``expect`` that the pack does not have, each with its closest match."""
    expect = doc.data["expect"]
    wanted = [("expect", key, expect.get(key)) for key in LIST_KEYS]
    wanted += [("expect.not", key, (expect.get("not") or {}).get(key)) for key in LIST_KEYS]
    issues = []
    for parent, key, values in wanted:
        kind, noun = LIST_KEYS[key]
        for i, value in enumerate(values or ()):
            if value not in _pack_ids(pack, kind):
                path = f"{parent}.{key}[{i}]"
                issues.append(ConfigIssue(doc.file, path, f"{noun}「{value}」は設定パックにありません", doc.line(path),
                                          did_you_mean(value, _pack_ids(pack, kind)) or "IDの綴りを確かめてください"))
    priority = expect.get("priority")
    if priority is not None and priority not in pack.ids("priorities"):
        issues.append(ConfigIssue(doc.file, "expect.priority", f"優先度「{priority}」は設定パックにありません",
                                  doc.line("expect.priority"), did_you_mean(priority, pack.ids("priorities"))))
    return issues


def _yes_no_issues(doc: YamlDoc, fields: tuple, data: Any, path: str) -> list[ConfigIssue]:
    """Choice answers YAML read as true/false: unquoted ``yes``/``no`` are booleans in YAML."""
    issues = []
    if path == "case" and isinstance(data, Mapping) and isinstance(data.get(LEGACY_CONSENT), bool):
        key = f"case.{LEGACY_CONSENT}"     # the old contract's top-level consent (the person's own)
        issues.append(ConfigIssue(doc.file, key, "「本人同意」の値が true / false として読まれました", doc.line(key),
                                  '"yes" のように引用符で囲んでください（YAML では引用符のない yes / no は true / false になります）'))
    for f in fields if isinstance(data, Mapping) else ():
        value, key = data.get(f.id), f"{path}.{f.id}"
        rows = value if f.type == "repeat" and isinstance(value, list) else [value] if f.type == "group" else []
        for i, row in enumerate(rows):
            issues += _yes_no_issues(doc, f.fields, row, f"{key}[{i}]" if f.type == "repeat" else key)
        if f.type in ("select", "multiselect") and any(isinstance(v, bool) for v in (value if isinstance(value, list) else [value])):
            issues.append(ConfigIssue(doc.file, key, f"「{f.label}」の値が true / false として読まれました", doc.line(key),
                                      '"yes" のように引用符で囲んでください（YAML では引用符のない yes / no は true / false になります）'))
    return issues


def load_scenarios(directory: Path | str, pack: Pack | None = None) -> list[Scenario]:
    """Read and validate every ``*.yaml`` in ``directory``, in file-name order.

    ``pack`` defaults to the pack the directory belongs to (``config/<pack>/scenarios``).
    Raises ``ConfigError`` listing every problem in every file, not only the first.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError([ConfigIssue(str(directory), "", "シナリオのフォルダがありません", None,
                                       "config/<パック>/scenarios を指定してください")])
    if pack is None:
        from engine.pack import load_pack  # only here: a caller with a pack never reloads it
        pack = load_pack(directory.parent)
    texts = {}
    for path in sorted(directory.glob("*.yaml")):
        name = f"scenarios/{path.name}"  # the role of the folder, whatever it is called
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError([ConfigIssue(name, "", "UTF-8 で読めません", None, "UTF-8 で保存し直してください")]) from None
    return scenarios_from_sources(texts, pack)


def scenarios_from_sources(sources: Mapping[str, str], pack: Pack) -> list[Scenario]:
    """The scenarios among ``sources`` (names under ``scenarios/``), validated against ``pack``."""
    issues: list[ConfigIssue] = []
    out: list[Scenario] = []
    seen: dict[str, str] = {}
    for name in sorted(n for n in sources if n.startswith("scenarios/") and n.endswith(".yaml")):
        doc, errs = parse_yaml(sources[name], name)
        if doc is not None and not errs:
            errs = check(doc, SCHEMA)
        if doc is not None and not errs:
            errs = _reference_issues(doc, pack) + _yes_no_issues(doc, pack.intake.fields, doc.data["case"], "case")
        issues += errs
        if errs or doc is None:
            continue
        data = doc.data
        if data["name"] in seen:
            issues.append(ConfigIssue(doc.file, "name", f"シナリオ名「{data['name']}」は {seen[data['name']]} と同じです",
                                      doc.line("name"), "結果の一覧で見分けられるよう、別の名前にしてください"))
        seen[data["name"]] = doc.file
        out.append(Scenario(doc.file, data["name"], data["解説"], frozen(data["case"]), frozen(data["expect"])))
    if issues:
        raise ConfigError(issues)
    return out


def _got(decision: Decision, key: str) -> tuple[str, ...]:
    return tuple(t.rule for t in decision.trace) if key == "rules" else getattr(decision, key)


def run_scenario(pack: Pack, scenario: Scenario) -> ScenarioResult:
    """Route the scenario's case and compare with ``expect``; an invalid case is a failure with ``error``."""
    try:
        decision = decide(pack, thawed(scenario.case))
    except CaseError as err:
        text = "\n".join(issue.render() for issue in err.issues)
        return ScenarioResult(scenario, False, (), None, text)
    expect, diffs = scenario.expect, []
    for key in LIST_KEYS:
        if key in expect and set(expect[key]) != set(_got(decision, key)):
            diffs.append((key, tuple(expect[key]), _got(decision, key)))
    if "priority" in expect and expect["priority"] != decision.priority:
        diffs.append(("priority", expect["priority"], decision.priority))
    for key, absent in (expect.get("not") or {}).items():
        present = tuple(i for i in _got(decision, key) if i in absent)
        if present:
            diffs.append((f"not.{key}", tuple(absent), present))
    return ScenarioResult(scenario, not diffs, tuple(diffs), decision)


def run_all(pack: Pack, directory: Path | str | None = None) -> list[ScenarioResult]:
    """Run every scenario of ``directory``, or by default the pack's own (its ``scenarios/`` files)."""
    found = scenarios_from_sources(pack.sources, pack) if directory is None else load_scenarios(directory, pack)
    return [run_scenario(pack, s) for s in found]


def render_failure(result: ScenarioResult, pack: Pack, ids: bool = True) -> str:
    """Japanese report of a scenario: 期待 vs 結果 per key with names, then the trace.

    ``ids=False`` is the staff's version (設定 > 公開): names only, no file name or id; the
    command line keeps both for whoever edits the YAML."""
    s = result.scenario
    where = f"（{s.file}）" if ids else ""
    lines = [f"シナリオ「{s.name}」{where}: {'合格' if result.passed else '期待と違います'}"]
    if result.error is not None:
        return "\n".join([*lines, "ケースを読めません:", *("  " + t for t in result.error.splitlines())])
    for key, expected, got in result.differences:
        base = key.removeprefix("not.")
        kind = LIST_KEYS[base][0] if base in LIST_KEYS else "priorities"
        names = lambda found: "、".join(_name(pack, kind, i, ids) for i in found) or "（なし）"  # noqa: E731
        if key.startswith("not."):
            lines += [f"■ {KEY_NAMES[base]}（あってはならないもの）", f"  期待: 次を含まない {names(expected)}",
                      f"  結果: {names(got)} が含まれています"]
        elif base == "priority":
            lines += [f"■ {KEY_NAMES[base]}", f"  期待: {_name(pack, kind, expected, ids)}", f"  結果: {_name(pack, kind, got, ids)}"]
        else:
            lines += [f"■ {KEY_NAMES[base]}", f"  期待: {names(expected)}", f"  結果: {names(got)}"]
            missing = [i for i in expected if i not in got]
            extra = [i for i in got if i not in expected]
            lines += [f"  足りない: {names(missing)}"] * bool(missing) + [f"  余分: {names(extra)}"] * bool(extra)
    if result.decision is not None:
        lines.append("判定の理由（成り立ったルール）:")
        lines += [f"  - {t.rule}（{t.label}）: {t.reason}" if ids else f"  - {t.label}: {t.reason}"
                  for t in result.decision.trace]
        lines += [f"  注意: {w}" for w in result.decision.warnings]
    return "\n".join(lines)
