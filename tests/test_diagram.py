"""The 研修 diagrams are DOT generated from the pack: every program, agency and meeting is in them."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from engine.pack import load_pack
from engine.pack.model import thawed
from engine.rules.decide import decide
from engine.training.diagram import node_id, overview_dot, path_dot
from engine.training.lessons import training_scenarios


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture(scope="module")
def overview(pack):
    return overview_dot(pack)


def plausible(dot: str) -> None:
    assert re.match(r"digraph \w+ \{\n", dot) and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', '""', dot)           # braces inside labels do not count
    assert unquoted.count("{") == unquoted.count("}") and '"' not in unquoted.replace('""', "")
    for line in unquoted.splitlines()[1:-1]:
        assert line.rstrip().endswith((";", "{", "}")), line
    nodes = re.findall(r"^\s*(\S+) \[", unquoted, re.M)
    edges = [i for pair in re.findall(r"(\S+) -> (\S+) \[", unquoted) for i in pair]
    assert nodes and all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", i) for i in nodes + edges)


def test_overview_has_the_five_programs_as_clusters(pack, overview):
    plausible(overview)
    for p in pack.programs:
        assert f'label="{p.get("number")}. {p.label}"' in overview
        assert f"subgraph cluster_{node_id('programs', p.id)}" in overview
    assert 'label="1. 包括的相談支援事業"' in overview and 'label="5. アウトリーチ等を通じた継続的支援事業"' in overview


def test_overview_has_every_agency_and_meeting(pack, overview):
    for a in pack.agencies:
        assert f"{node_id('agencies', a.id)} [label=\"{a.label}" in overview
    for m in pack.meetings:
        assert f"{node_id('meetings', m.id)} [label=\"{m.label}" in overview


def test_overview_paths(pack, overview):
    assert 'prog_multi_agency -> mt_juso_kaigi [label="本人同意が必要"' in overview
    assert 'prog_multi_agency -> mt_shien_kaigi [label="同意がなくても（守秘義務）"' in overview
    assert "prog_comprehensive -> ag_houkatsu_a" in overview                     # program → agency
    assert "ag_kurashi_marugoto -> mt_juso_kaigi" in overview                    # member → meeting
    assert 'soudan -> ag_jiritsu_soudan [label="困窮（仕事・お金・住まい） → 自立相談支援機関"' in overview
    assert 'soudan [label="相談"' in overview


def test_path_follows_the_fired_rules(pack):
    s = next(s for s in training_scenarios(pack) if s.file.endswith("03_8050_no_consent.yaml"))
    decision = decide(pack, thawed(s.case))
    dot = path_dot(pack, decision)
    plausible(dot)
    labels = re.findall(r'rule_\d+ \[label="\d+\. ([^"]+)"', dot)
    assert labels == [t.label for t in decision.trace]
    assert "soudan -> rule_1" in dot
    n = 1 + [t.rule for t in decision.trace].index("shien_kaigi_no_consent")
    assert f"rule_{n} -> mt_shien_kaigi" in dot and "mt_juso_kaigi" not in dot


def test_graphviz_accepts_the_dot(pack, overview):
    if not shutil.which("dot"):          # `make test` installs Graphviz; without it this test fails, never skips
        pytest.fail("Graphviz の dot がありません。make test（make browser-deps）で入れてください / "
                    "Graphviz's dot is missing: run `make browser-deps`", pytrace=False)
    s = training_scenarios(pack)[0]
    for dot in (overview, path_dot(pack, decide(pack, thawed(s.case)))):
        done = subprocess.run(["dot", "-Tsvg"], input=dot.encode(), capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr.decode()


def test_a_rule_change_shows_in_the_diagram_at_once(pack):
    from engine.pack import load_sources
    sources = dict(pack.sources)
    sources["rules.yaml"] = sources["rules.yaml"].replace("label: 困窮（仕事・お金・住まい） → 自立相談支援機関", "label: 困窮の相談 → 自立相談")
    changed = load_sources(sources)
    assert 'label="困窮の相談 → 自立相談"' in overview_dot(changed)
    assert "困窮（仕事・お金・住まい） → 自立相談支援機関" not in overview_dot(changed)
