"""Writing scenarios from the browser: a stored case or a fresh intake saved as a test,
and the expectations of failing scenarios updated when a change is intended."""
from __future__ import annotations

import re
from typing import Any, Mapping

from engine.casework.handoff import diff
from engine.changes.editing import edit_yaml, flowed
from engine.rules.decide import Decision

EXPECT_KEYS = ("programs", "agencies", "meetings")


def expectation(decision: Decision) -> dict:
    return {"programs": list(decision.programs), "agencies": list(decision.agencies),
            "meetings": list(decision.meetings), "priority": decision.priority}


def scenario_file_name(sources: Mapping[str, str], title: str) -> str:
    """Next free ``scenarios/NN_<ascii slug>.yaml``.

    >>> scenario_file_name({"scenarios/07_x.yaml": ""}, "8050世帯 new case")
    'scenarios/08_8050_new_case.yaml'
    """
    numbers = [int(m.group(1)) for n in sources if (m := re.match(r"scenarios/(\d+)_", n))]
    slug = "_".join(re.findall(r"[a-z0-9]+", title.lower())) or "case"
    return f"scenarios/{max(numbers, default=0) + 1:02d}_{slug[:40]}.yaml"


def unlike_confirmed(decision: Decision, confirmed: Mapping[str, Any] | None) -> list[tuple[str, str, str]]:
    """Where the confirmed routing differs from what the rules decide now, as
    ``handoff.diff`` gives it: (kind, id, added|removed); empty before anyone confirmed.

    A scenario expecting the confirmed routing fails on exactly these until the rules change.
    """
    if not confirmed:
        return []
    now = {"programs": list(decision.programs), "proposed_programs": list(decision.proposed),
           "agencies": list(decision.agencies), "meetings": list(decision.meetings)}
    return diff(now, confirmed)


def scenario_text(name: str, explanation: str, case: Mapping[str, Any], decision: Decision,
                  confirmed: Mapping[str, Any] | None = None) -> str:
    """A new scenario file: the case as given, and what the rules decide for it now.

    When staff confirmed the case's routing (``handoff.confirmed``: ids per kind), that is the
    expected result: the scenario then fails until the rules give what people decided.
    """
    expect = expectation(decision)
    if confirmed:
        expect.update({k: list(confirmed.get(k) or ()) for k in EXPECT_KEYS})
        if confirmed.get("proposed_programs") or decision.proposed:     # a proposal stays a proposal
            expect["proposed"] = list(confirmed.get("proposed_programs") or ())
    body = {"name": name, "解説": explanation or "（解説を書いてください）", "case": dict(case), "expect": expect}
    return edit_yaml("{}\n", lambda doc: doc.update(flowed(body, inline_maps=False)))


def accept_results(sources: Mapping[str, str], results) -> dict[str, str]:
    """Sources with each failing scenario's ``expect`` set to what the draft now decides.

    For a change staff intend: the failures were read, and the new routing is right.
    """
    out = dict(sources)
    for result in results:
        if result.passed or result.decision is None:
            continue
        got = expectation(result.decision)

        def mutate(doc: Any, got: dict = got) -> None:
            expect = doc["expect"]
            for key, value in got.items():
                if key in expect:
                    expect[key] = flowed(value)
            if "rules" in expect:
                expect["rules"] = flowed([t.rule for t in result.decision.trace])
            if "not" in expect:
                for key in list(expect["not"]):
                    kept = [i for i in expect["not"][key] if i not in (got.get(key) or [])]
                    expect["not"][key] = flowed(kept)
        out[result.scenario.file] = edit_yaml(out[result.scenario.file], mutate)
    return out
