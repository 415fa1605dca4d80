"""The drafts ``make bench`` previews: one rule changed, or a derived fact added."""
from __future__ import annotations

import yaml

from engine.pack import load_sources
from engine.pack.model import Pack

RULE = "multi_field"
BEFORE, AFTER = '{fact: field_count, op: ">=", value: 2}', '{fact: field_count, op: ">=", value: 1}'


def one_rule(pack: Pack, value: int = 1) -> Pack:
    """多機関協働 from ``value`` 分野 instead of two (1 by default): only the rule ``multi_field`` changes.

    The derived fact ``complex`` reads the same condition; it is left alone, or the draft would
    change a derived fact and every case would be decided again.
    """
    text = pack.sources["rules.yaml"]
    at = text.index(f"  - id: {RULE}\n")
    draft = load_sources({**pack.sources, "rules.yaml": text[:at] + text[at:].replace(BEFORE, AFTER.replace("1}", f"{value}}}"), 1)})
    changed = [r.id for r, old in zip(draft.rules, pack.rules) if r != old]
    if changed != [RULE] or draft.derived != pack.derived:
        raise SystemExit(f"bench: the one-rule edit no longer changes only {RULE} in rules.yaml ({changed})")
    return draft


def derived_added(pack: Pack) -> Pack:
    """A derived fact is added, so every case is decided again under the draft."""
    rules_doc = yaml.safe_load(pack.sources["rules.yaml"])
    rules_doc["derived"].append({"id": "bench_fields", "label": "ベンチ用", "fn": "count", "of": "fields"})
    return load_sources({**pack.sources, "rules.yaml": yaml.safe_dump(rules_doc, allow_unicode=True, sort_keys=False)})
