"""The compiled coercer and compiled conditions answer exactly as the plain walkers do."""
from __future__ import annotations

import random

import pytest

from engine.pack import load_pack
from engine.rules.conditions import All, AnyMember, AnyOf, Atom, CountMembers, Not, evaluate
from engine.rules.facts import Coercer
from engine.rules.predicate import predicate

ODD_VALUES = ["", " ", "７０", "70歳", " 70 ", 70.0, 70.5, -1, 121, True, False, "はい", "いいえ", "yes", "true",
              "2026-11-20", "２０２６-１１-２０", " 2026-11-20 ", "2026/11/20", "nonsense", 0, None, [], {},
              ["care_need", "care_need"], ["", "debt"], ["借金"], "長男", "self", ["no_such"], "ヤマダ", "abc"]


@pytest.fixture(scope="module")
def pack():
    return load_pack()


def _reference_fields(coercer: Coercer, fields, data, path: str) -> dict:
    """The walk ``Coercer.fields`` did before it was compiled: every value through ``scalar``."""
    out: dict = {}
    for f in fields:
        value = data.get(f.id)
        if value is None or value == "" or value == [] or value == {}:
            continue
        key = f"{path}.{f.id}" if path else f.id
        if f.type == "group":
            sub = _reference_fields(coercer, f.fields, value, key) if isinstance(value, dict) else {}
            if sub:
                out[f.id] = sub
        elif f.type == "repeat":
            rows = [_reference_fields(coercer, f.fields, item, f"{key}[{i}]") for i, item in enumerate(value)]
            if [r for r in rows if r]:
                out[f.id] = [r for r in rows if r]
        else:
            coerced = coercer.scalar(f, value, key)
            if coerced is not None:
                out[f.id] = coerced
    return out


def _values_for(pack, f, rng: random.Random):
    pool = list(ODD_VALUES)
    if f.choices:
        choices = pack.choices(f.choices)
        pool += [c.id for c in choices] + [c.label for c in choices]
        pool.append([rng.choice(choices).id for _ in range(rng.randint(1, 3))])
        pool.append([rng.choice(choices).label for _ in range(2)])
    return pool


def test_compiled_coercer_matches_the_plain_walk_on_random_values(pack):
    rng = random.Random(5)
    intake = pack.intake.fields
    for _ in range(400):
        raw: dict = {}
        for f in intake:
            if rng.random() < 0.3:
                continue
            if f.type == "group":
                raw[f.id] = {c.id: rng.choice(_values_for(pack, c, rng)) for c in f.fields if rng.random() < 0.8}
            elif f.type == "repeat":
                raw[f.id] = [{c.id: rng.choice(_values_for(pack, c, rng)) for c in f.fields} for _ in range(rng.randint(0, 2))]
            else:
                raw[f.id] = rng.choice(_values_for(pack, f, rng))
        fast, slow = Coercer(pack), Coercer(pack)
        got = fast.fields(intake, raw, "")
        want = _reference_fields(slow, intake, raw, "")
        assert got == want, raw
        assert [i.render() for i in fast.issues] == [i.render() for i in slow.issues], raw


def test_compiled_coercer_warns_about_unknown_fields_and_rejects_a_non_mapping(pack):
    coercer = Coercer(pack)
    assert coercer.fields(pack.intake.fields, {"chanel": "phone", "_note": "x"}, "") == {}
    assert len(coercer.warnings) == 1 and "chanel" in coercer.warnings[0] and "channel" in coercer.warnings[0]
    assert coercer.fields(pack.intake.fields, ["not", "a", "case"], "") == {}
    assert coercer.issues and coercer.issues[0].message == "「項目: 値」の形で入力してください"


def _random_condition(rng: random.Random, depth: int = 0, member: bool = False):
    facts = ["age", "consent", "concerns"]
    kind = rng.choice(["atom"] * 3 + (["all", "any", "not"] + ([] if member else ["any_member", "count"])) * (depth < 3))
    if kind == "atom":
        fact = rng.choice(facts)
        if fact == "age":
            op = rng.choice(["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "answered", "unanswered"])
            value = (18, 65) if op in ("in", "not_in") else rng.choice([0, 18, 65])
        elif fact == "consent":
            op = rng.choice(["=", "!=", "in", "not_in", "answered", "unanswered"])
            value = ("yes", "no") if op in ("in", "not_in") else rng.choice(["yes", "no"])
        else:
            op, value = rng.choice(["contains", "not_contains", "answered", "unanswered"]), rng.choice(["debt", "abuse"])
        return Atom(fact, op, value)
    if kind in ("all", "any"):
        items = tuple(_random_condition(rng, depth + 1, member) for _ in range(rng.randint(0, 3)))
        return All(items) if kind == "all" else AnyOf(items)
    if kind == "not":
        return Not(_random_condition(rng, depth + 1, member))
    if kind == "any_member":
        return AnyMember(_random_condition(rng, depth + 1, True))
    return CountMembers(_random_condition(rng, depth + 1, True), rng.choice([">=", "=", "<"]), rng.randint(0, 2))


def _random_facts(rng: random.Random) -> dict:
    out = {}
    if rng.random() < 0.7:
        out["age"] = rng.choice([0, 17, 18, 40, 65, 80])
    if rng.random() < 0.7:
        out["consent"] = rng.choice(["yes", "no"])
    if rng.random() < 0.7:
        out["concerns"] = rng.sample(["debt", "abuse", "care_need"], k=rng.randint(1, 2))
    return out


def test_compiled_conditions_match_evaluate_on_random_conditions():
    rng = random.Random(11)
    for _ in range(2_000):
        cond = _random_condition(rng)
        members = tuple(_random_facts(rng) for _ in range(rng.randint(0, 3)))
        facts = _random_facts(rng)
        assert predicate(cond)(facts, members) == evaluate(cond, facts, members), cond
