"""The routing principles hold in every pack a city can start from, not only in Hannan's:
each bundled pack and a pack made by ``tsunagu init`` from the template.

- every rule says where it comes from (source, law or the city's policy), never two;
- a rule quoting an abuse or violence law is 緊急 and names an agency;
- in every scenario, a meeting that needs consent is reached only when someone with a
  concern consented (consent per person; a family member's consent is not the person's),
  and a resource is suggested only to a household in its target group (``for:``).

Facts are read by the independent oracle (tests/oracle.py), not by the engine under test.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.changes.scenarios import load_scenarios
from engine.cli import main
from engine.pack import bundled_packs, load_pack
from engine.pack.model import thawed
from engine.rules.decide import decide
from oracle import holds, load_pack_data, reference_facts

SAFETY_LAW = re.compile(r"虐待|暴力")


@pytest.fixture(scope="module", params=[p.name for p in bundled_packs()] + ["template"])
def pack_root(request, tmp_path_factory) -> Path:
    if request.param != "template":
        return next(p for p in bundled_packs() if p.name == request.param)
    root = tmp_path_factory.mktemp("init") / "pack"
    assert main(["init", str(root), "--city", "ためし市"]) == 0
    return root


def test_every_rule_says_where_it_comes_from(pack_root):
    rules = load_pack_data(pack_root)["rules"]["rules"]
    for rule in rules:
        said = [k for k in ("source", "law", "policy") if rule.get(k)]
        assert len(said) == 1, f"{pack_root.name} {rule['id']}: 根拠が {said}"
        assert rule.get("policy") in (None, "city"), rule["id"]
    pack = load_pack(pack_root)
    assert all(r.policy == "city" for r in pack.rules if not (r.source or r.law))


def test_a_rule_quoting_an_abuse_or_violence_law_is_urgent_and_names_an_agency(pack_root):
    safety = [r for r in load_pack_data(pack_root)["rules"]["rules"] if SAFETY_LAW.search(r.get("law") or "")]
    assert len(safety) >= 4, f"{pack_root.name}: 虐待・DV の安全のルールが {len(safety)} 件しかない"
    for rule in safety:
        assert rule["then"].get("priority") == "urgent" and rule["then"].get("agencies"), rule["id"]


def _people(case: dict) -> list[dict]:
    person = dict(case.get("person") or {})
    if "consent" in case and "consent" not in person:      # the old contract: the person's own consent
        person["consent"] = case["consent"]
    return [person, *(case.get("household") or [])]


def test_scenarios_keep_consent_per_person_and_resources_in_their_target_group(pack_root):
    raw = load_pack_data(pack_root)
    pack = load_pack(pack_root)
    needs_consent = {m["id"] for m in raw["lists"]["meetings"] if m.get("consent_required")}
    targets = {r["id"]: r.get("for") for r in raw["lists"]["resources"]}
    scenarios = load_scenarios(pack_root / "scenarios")
    assert len(scenarios) >= 10
    checked_consent = checked_for = 0
    for scenario in scenarios:
        case = thawed(scenario.case)
        decision = decide(pack, case)
        if needs_consent & set(decision.meetings):
            checked_consent += 1
            assert any(p.get("concerns") and p.get("consent") == "yes" for p in _people(case)), \
                f"{scenario.name}: 同意した人がいないのに同意が要る会議"
        facts, members = reference_facts(raw, case)
        for resource in decision.resources:
            if targets[resource] is not None:
                checked_for += 1
                assert holds(targets[resource], facts, members), f"{scenario.name}: {resource} は対象外"
    assert checked_consent and checked_for, (checked_consent, checked_for)


def test_a_family_members_consent_is_not_the_persons(pack_root):
    """The same household twice: only the one whose own member consented reaches the
    meeting that needs consent; the other reaches the meeting for people without it."""
    raw = load_pack_data(pack_root)
    needs_consent = {m["id"] for m in raw["lists"]["meetings"] if m.get("consent_required")}
    without = {m["id"] for m in raw["lists"]["meetings"] if not m.get("consent_required")}
    pack = load_pack(pack_root)
    scenario = next(s for s in load_scenarios(pack_root / "scenarios")
                    if len(s.case.get("household") or ()) == 1 and needs_consent & set(s.expect.get("meetings") or ())
                    and (s.case["household"][0].get("concerns")) and s.case["person"].get("consent") == "yes")
    case = thawed(scenario.case)
    case["household"][0]["consent"] = "yes"
    both = decide(pack, case)
    case["household"][0].pop("consent")
    case["household"][0]["age"] = 40
    case["person"]["consent"] = "no"
    neither = decide(pack, case)
    assert needs_consent & set(both.meetings)
    assert not needs_consent & set(neither.meetings) and without & set(neither.meetings), neither.meetings
