"""The impact preview does only the work a change implies, and answers as a full re-decision does.

Random drafts (rule edits, additions, deletions, reorders, switches, roster changes, derived
facts) are previewed over demo cases stored under the live pack; the reference decides every
case afresh under both packs.
"""
from __future__ import annotations

import copy
import random

import pytest
import yaml

from engine.casework.cases import new_record
from engine.casework.demo import demo_cases
from engine.changes import impact
from engine.changes.impact import preview, summary
from engine.errors import CaseError
from engine.pack import load_pack, load_sources
from engine.rules.decide import decide

DEMO = 300


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture(scope="module")
def stored(pack):
    records = [new_record(pack, c, "test")[0] for c in demo_cases(pack, DEMO, seed=23)]
    for i, record in enumerate(records):
        record["id"] = f"C{i:05d}"
    # A few cases decided under an older version, and one without a decision: decided again.
    for record in records[:5]:
        record["config_version"] = "old"
    records[5] = {k: v for k, v in records[5].items() if k != "decision"}
    return records


def full_redecision(cases, live, draft) -> tuple[list, list]:
    changed, errors = [], []
    for case in cases:
        try:
            before = summary(decide(live, case["intake"]))
            after = summary(decide(draft, case["intake"]))
        except CaseError:
            errors.append(case["id"])
            continue
        if before != after:
            changed.append({"case_id": case["id"], "before": before, "after": after})
    return changed, errors


def _atoms(when):
    """Every {fact, op, value} dict of a raw condition, to edit in place."""
    if isinstance(when, dict):
        if "fact" in when:
            yield when
        for value in when.values():
            yield from _atoms(value)
    elif isinstance(when, list):
        for item in when:
            yield from _atoms(item)


def _edit_condition(rule: dict, rng: random.Random) -> None:
    atoms = [a for a in _atoms(rule["when"]) if isinstance(a.get("value"), (int, bool)) or a.get("op") in ("contains", "not_contains")]
    if atoms:
        atom = rng.choice(atoms)
        if isinstance(atom["value"], bool):
            atom["value"] = not atom["value"]
        elif isinstance(atom["value"], int):
            atom["value"] = max(0, atom["value"] + rng.choice([-2, -1, 1, 2]))
        else:
            atom["op"] = "not_contains" if atom["op"] == "contains" else "contains"
    else:
        rule["when"] = {"not": rule["when"]}


def random_draft(pack, rng: random.Random):
    sources = dict(pack.sources)
    rules_doc = yaml.safe_load(sources["rules.yaml"])
    roster_doc = yaml.safe_load(sources["roster.yaml"])
    rules = rules_doc["rules"]
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["edit", "edit", "add", "delete", "reorder", "switch", "action", "roster", "derived"])
        rule = rng.choice(rules)
        if kind == "edit":
            _edit_condition(rule, rng)
        elif kind == "add":
            new = copy.deepcopy(rule)
            new["id"] = f"{rule['id']}_copy{rng.randint(0, 999)}"
            if rng.random() < 0.7:
                _edit_condition(new, rng)
            new["then"] = {"meetings": [rng.choice(pack.ids("meetings"))], "reason": "試験用",
                           **({"priority": rng.choice(pack.ids("priorities"))} if rng.random() < 0.5 else {})}
            rules.insert(rng.randint(0, len(rules)), new)
        elif kind == "delete" and len(rules) > 2:
            rules.remove(rule)
        elif kind == "reorder":
            rng.shuffle(rules)
        elif kind == "switch":
            rule["enabled"] = not rule.get("enabled", True)
        elif kind == "action":
            rule["then"]["programs"] = rng.sample(pack.ids("programs"), k=rng.randint(0, 2))
        elif kind == "roster":
            agency = rng.choice([a for a in roster_doc["agencies"] if a.get("areas")])
            agency["areas"] = rng.sample(pack.ids("areas"), k=rng.randint(1, len(pack.ids("areas"))))
        else:  # a derived fact changes: every case is decided again
            for d in rules_doc["derived"]:
                if d.get("fn") == "any_member":
                    d["where"] = {"fact": "age", "op": "<", "value": rng.choice([6, 18, 20])}
    sources["rules.yaml"] = yaml.safe_dump(rules_doc, allow_unicode=True, sort_keys=False)
    sources["roster.yaml"] = yaml.safe_dump(roster_doc, allow_unicode=True, sort_keys=False)
    return load_sources(sources)


def test_random_drafts_preview_exactly_as_a_full_redecision(pack, stored):
    rng = random.Random(2026)
    incremental = differing = 0
    for _ in range(25):
        draft = random_draft(pack, rng)
        incremental += impact._incremental(pack, draft)
        got = preview(stored, pack, draft)
        changed, errors = full_redecision(stored, pack, draft)
        assert list(got.changed) == changed
        assert [e["case_id"] for e in got.errors] == errors
        assert got.evaluated == len(stored)
        differing += bool(changed)
    assert incremental >= 10 and differing >= 10    # both paths taken, and most drafts change something


def test_a_one_rule_change_runs_only_the_changed_rule(pack, stored, monkeypatch):
    sources = dict(pack.sources)
    head, rules = sources["rules.yaml"].split("\nrules:\n")      # the rule's threshold, not the derived fact's
    sources["rules.yaml"] = head + "\nrules:\n" + rules.replace('{fact: field_count, op: ">=", value: 2}',
                                                                '{fact: field_count, op: ">=", value: 1}')
    draft = load_sources(sources)
    assert impact._incremental(pack, draft)
    sent = []
    real = impact.fired_rules
    monkeypatch.setattr(impact, "fired_rules", lambda compiled, *a: sent.append(compiled) or real(compiled, *a))
    monkeypatch.setattr(impact, "decide_prepared", lambda *a, **k: pytest.fail("a stored live decision was decided again"))
    current = [c for c in stored if c.get("config_version") == pack.version and c.get("decision")]
    got = preview(current, pack, draft)
    assert got.changed and list(got.changed) == full_redecision(current, pack, draft)[0]
    # The changed rule alone went to the engine, once per distinct input it reads (not once per case).
    assert {len(c.keys) for c in sent} == {len(sent[0].keys)} and len(sent) < len(current) / 3
    assert len({c.name for c in sent}) == 1


def test_a_form_change_decides_every_case_again(pack, stored):
    sources = dict(pack.sources)
    sources["forms/intake.yaml"] = sources["forms/intake.yaml"].replace("max: 120, required: true", "max: 90, required: true", 1)
    draft = load_sources(sources)
    assert not impact._incremental(pack, draft)
    got = preview(stored, pack, draft)
    changed, errors = full_redecision(stored, pack, draft)
    assert list(got.changed) == changed and [e["case_id"] for e in got.errors] == errors


def test_odd_stored_records_preview_as_a_full_redecision(pack, stored):
    """A stored decision of another shape (bare ids, as an older or hand-edited record holds) is
    decided afresh, and a household row whose concerns are None (unanswered) is read as unanswered:
    neither stops the preview, and the answer is a full re-decision's."""
    current = [copy.deepcopy(c) for c in stored if c.get("config_version") == pack.version and c.get("decision")][:40]
    for case in current[:10]:
        case["decision"] = {**case["decision"], "programs": [p["id"] for p in case["decision"]["programs"]]}
    for case in current[10:20]:
        case["decision"] = {**case["decision"], "trace": ["a rule"]}
    households = [c for c in current[20:] if c["intake"].get("household")]
    assert households
    for case in households:
        case["intake"]["household"][0]["concerns"] = None
        case["decision"] = new_record(pack, case["intake"], "test")[0]["decision"]     # what live decides for it
    sources = dict(pack.sources)
    head, rules = sources["rules.yaml"].split("\nrules:\n")
    sources["rules.yaml"] = head + "\nrules:\n" + rules.replace('{fact: field_count, op: ">=", value: 2}',
                                                                '{fact: field_count, op: ">=", value: 1}')
    draft = load_sources(sources)
    got = preview(current, pack, draft)
    changed, errors = full_redecision(current, pack, draft)
    assert got.changed and list(got.changed) == changed and not got.errors and not errors


def test_routed_ids_answer_as_route_does(pack):
    """The preview's lean routing (ids only, from the fired rules) equals the full routing's ids,
    for random sets of fired rules (several priorities and 圏域-looked-up agencies among them)."""
    from engine.rules.decide import covering_facts, route, routed_ids
    rng = random.Random(15)
    ids = [r.id for r in pack.rules if r.enabled]
    areas = [*pack.ids("areas"), None]
    for _ in range(400):
        fired = frozenset(rng.sample(ids, rng.randint(0, 10)))
        facts = {c: rng.choice(areas) for c in covering_facts(pack)}
        full = route(pack, fired, facts)
        assert routed_ids(pack, fired, facts) == (full.programs, full.agencies, full.meetings, full.priority)


def test_a_case_saved_between_two_previews_is_worked_out_again(pack, stored):
    """A preview keeps each case's prepared facts for the next one; a save hands out new objects
    for the same case id, and the next preview reads the new answers, not the kept ones."""
    sources = dict(pack.sources)
    head, rules = sources["rules.yaml"].split("\nrules:\n")
    sources["rules.yaml"] = head + "\nrules:\n" + rules.replace('{fact: field_count, op: ">=", value: 2}',
                                                                '{fact: field_count, op: ">=", value: 1}')
    draft = load_sources(sources)
    current = [c for c in stored if c.get("config_version") == pack.version and c.get("decision")][:80]
    first = preview(current, pack, draft)
    # Each case saved with the next case's answers: same id, new intake and decision objects.
    saved = []
    for case, other in zip(current, current[1:] + current[:1]):
        record = new_record(pack, copy.deepcopy(other["intake"]), "test")[0]
        saved.append({**record, "id": case["id"]})
    again = preview(saved, pack, draft)
    expected = full_redecision(saved, pack, draft)[0]
    assert list(again.changed) == expected
    assert [c["case_id"] for c in again.changed] != [c["case_id"] for c in first.changed]
