"""Versions: publish with guardrails, stale publishes refused, rollback, impact preview."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.casework.demo import demo_cases, mark_store, save_demo
from engine.changes.editing import delete_item, set_field
from engine.changes.impact import preview
from engine.changes.versions import (
    PublishError,
    ensure_live,
    history,
    live_pack,
    pack_of,
    publish,
    rollback,
    rule_changes,
    yaml_diff,
)
from engine.cli import main
from engine.errors import ConfigError, ConflictError
from engine.pack import DEFAULT_PACK, bundled_packs, load_pack, load_sources, read_sources
from engine.rules.decide import decide
from storage import open_repository

LOWER = ('{fact: field_count, op: ">=", value: 2}', '{fact: field_count, op: ">=", value: 1}')


def lowered(sources: dict) -> dict:
    """The 多機関協働 threshold lowered from 2 分野 to 1, scenarios left out (they would fail)."""
    out = {k: v for k, v in sources.items() if not k.startswith("scenarios/")}
    out["rules.yaml"] = out["rules.yaml"].replace(*LOWER)
    return out


@pytest.fixture
def repo(tmp_path):
    with open_repository(tmp_path / "data") as r:
        yield r


def test_new_store_starts_from_the_bundled_pack(repo):
    live = ensure_live(repo, DEFAULT_PACK)
    assert live.startswith("v001-")
    assert live_pack(repo, DEFAULT_PACK).version == load_pack().version
    [only] = history(repo)
    assert only.live and only.kind == "initial"


def test_failing_scenario_blocks_publish(repo):
    base = ensure_live(repo, DEFAULT_PACK)
    sources = read_sources(DEFAULT_PACK)
    sources["rules.yaml"] = sources["rules.yaml"].replace(*LOWER)
    with pytest.raises(PublishError, match="シナリオが .* 件失敗"):
        publish(repo, sources, "試験", "閾値を下げる", base)
    assert history(repo)[-1].id == base


def test_invalid_draft_and_missing_reason_are_refused(repo):
    base = ensure_live(repo, DEFAULT_PACK)
    sources = read_sources(DEFAULT_PACK)
    with pytest.raises(PublishError, match="理由"):
        publish(repo, lowered(sources), "試験", "  ", base)
    broken = dict(sources, **{"rules.yaml": sources["rules.yaml"].replace("kikan_soudan]", "kikan_sodan]")})
    with pytest.raises(ConfigError, match="もしかして: kikan_soudan"):
        publish(repo, broken, "試験", "壊れた下書き", base)
    with pytest.raises(PublishError, match="同じ内容"):
        publish(repo, sources, "試験", "変更なし", base)


def test_stale_publish_is_refused_not_merged(repo):
    base = ensure_live(repo, DEFAULT_PACK)
    sources = read_sources(DEFAULT_PACK)
    first = publish(repo, lowered(sources), "一人目", "閾値を下げる", base)
    other = dict(sources, **{"rules.yaml": sources["rules.yaml"].replace("      priority: urgent", "      priority: high")})
    with pytest.raises(ConflictError, match="もう公開中の版ではありません"):
        publish(repo, {k: v for k, v in other.items() if not k.startswith("scenarios/")}, "二人目", "優先度", base)
    assert [v.id for v in history(repo) if v.live] == [first.id]


def test_publish_then_rollback(repo, tmp_path):
    base = ensure_live(repo, DEFAULT_PACK)
    case = {"resident": True, "area": "area1", "consent": "yes", "person": {"age": 40, "concerns": ["debt"]}}
    before = decide(live_pack(repo, DEFAULT_PACK), case)
    new = publish(repo, lowered(read_sources(DEFAULT_PACK)), "試験", "閾値を下げる", base)
    assert "multi_agency" in decide(live_pack(repo, DEFAULT_PACK), case).programs
    back = rollback(repo, base, "試験", "元に戻す")
    assert back.kind == "rollback" and back.rolled_back_to == base and back.id not in (base, new.id)
    after = decide(live_pack(repo, DEFAULT_PACK), case)
    assert (after.programs, after.agencies, after.meetings) == (before.programs, before.agencies, before.meetings)
    assert [v.id for v in history(repo)] == [base, new.id, back.id]


def test_readable_diff_names_the_changed_rule(repo):
    old = load_pack()
    new = load_sources(lowered(read_sources(DEFAULT_PACK)))
    changes = rule_changes(old, new)
    # The meetings follow the derived fact ``complex`` (and each person's consent), not the threshold:
    # lowering it changes one rule.
    assert [(k, r) for k, r, _ in changes] == [("変更", "multi_field")]
    assert "世帯の分野の数が1以上" in changes[0][2]
    assert "+        - {fact: field_count, op: \">=\", value: 1}" in yaml_diff(old.sources, new.sources)


def test_impact_preview_lists_cases_that_would_change(repo):
    pack = load_pack()
    mark_store(repo, "demo")
    save_demo(repo, pack, 120)
    draft = load_sources(lowered(read_sources(DEFAULT_PACK)))
    result = repo.read_cases(lambda cases: preview(cases, pack, draft))
    assert result.evaluated == 120 and result.changed
    for change in result.changed:
        assert "multi_agency" not in change["before"]["programs"] and "multi_agency" in change["after"]["programs"]
    assert result.counts["事業: +多機関協働事業"] == len(result.changed)
    unchanged = repo.read_cases(lambda cases: preview(cases, pack, pack))
    assert unchanged.changed == ()


@pytest.mark.parametrize("root", bundled_packs(), ids=lambda p: p.name)
def test_impact_preview_of_disabling_a_meeting_rule_on_every_bundled_pack(repo, root):
    """Disable the first rule that sends a case to a meeting: the preview lists exactly the
    stored cases that lose that meeting, and nothing else changes for them."""
    pack = load_pack(root)
    rule = next(r for r in pack.rules if r.then.meetings)
    meeting = rule.then.meetings[0]
    sources = {k: v for k, v in read_sources(root).items() if not k.startswith("scenarios/")}
    sources["rules.yaml"] = set_field(sources["rules.yaml"], "rules", rule.id, "enabled", False)
    draft = load_sources(sources)
    mark_store(repo, "demo")
    save_demo(repo, pack, 150)
    result = repo.read_cases(lambda cases: preview(cases, pack, draft))
    expected = repo.read_cases(lambda cases: {c["id"] for c in cases if meeting in decide(pack, c["intake"]).meetings
                                              and meeting not in decide(draft, c["intake"]).meetings})
    assert result.evaluated == 150 and not result.errors and expected
    assert {c["case_id"] for c in result.changed} == expected
    for change in result.changed:
        assert meeting in change["before"]["meetings"] and meeting not in change["after"]["meetings"]
    assert result.counts[f"会議: −{pack.label('meetings', meeting)}"] == len(expected)


def test_cli_impact_versions_publish_rollback(tmp_path, capsys):
    data, draft = tmp_path / "data", tmp_path / "draft"
    assert main(["demo-data", "--data", str(data), "--cases", "40"]) == 0
    draft.mkdir()
    for name, text in lowered(read_sources(DEFAULT_PACK)).items():
        (draft / name).parent.mkdir(parents=True, exist_ok=True)
        (draft / name).write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["impact", str(draft), "--data", str(data)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["evaluated"] == 40 and out["changed"] and set(out["changed"][0]) == {"case_id", "before", "after"}
    assert main(["publish", str(draft), "--data", str(data), "--author", "試験", "--reason", "閾値を下げる"]) == 0
    assert main(["versions", "--data", str(data)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    first = lines[-2].split("\t")[0]
    assert "＊公開中" in lines[-1] and "閾値を下げる" in lines[-1]
    assert main(["rollback", first, "--data", str(data), "--author", "試験", "--reason", "戻す"]) == 0
    assert main(["publish", str(draft), "--data", str(data), "--author", "試験", "--reason", ""]) == 2


EDITS = st.lists(st.one_of(
    st.tuples(st.just("disable"), st.sampled_from([r.id for r in load_pack().rules])),
    st.tuples(st.just("delete"), st.sampled_from([r.id for r in load_pack().rules])),
    st.tuples(st.just("threshold"), st.integers(1, 4)),
), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_publish_then_rollback_restores_every_decision(tmp_path_factory, edits):
    """Property: for random edits, publish then rollback gives decisions identical to before."""
    with open_repository(tmp_path_factory.mktemp("data")) as repo:
        base = ensure_live(repo, DEFAULT_PACK)
        cases = list(demo_cases(load_pack(), 60, seed=5))
        before = [decide(pack_of(repo, base), c).to_json(pack_of(repo, base)) for c in cases]
        sources = {k: v for k, v in read_sources(DEFAULT_PACK).items() if not k.startswith("scenarios/")}
        for kind, arg in edits:
            rules = sources["rules.yaml"]
            present = f"id: {arg}\n" in rules if kind != "threshold" else True
            if kind == "disable" and present:
                sources["rules.yaml"] = set_field(rules, "rules", arg, "enabled", False)
            elif kind == "delete" and present:
                sources["rules.yaml"] = delete_item(rules, "rules", arg)
            elif kind == "threshold":
                sources["rules.yaml"] = rules.replace('op: ">=", value: 2}', f'op: ">=", value: {arg}}}')
        try:
            load_sources(sources)
        except ConfigError:
            return  # an edit that makes the pack invalid never publishes; nothing to roll back
        publish(repo, sources, "試験", "ランダムな変更", base)
        rollback(repo, base, "試験", "元に戻す")
        live = live_pack(repo, DEFAULT_PACK)
        assert [decide(live, c).to_json(live) for c in cases] == before


def test_accepting_new_results_makes_failing_scenarios_pass():
    from engine.changes.scenario_edit import accept_results
    from engine.changes.scenarios import run_all
    sources = read_sources(DEFAULT_PACK)
    sources["rules.yaml"] = sources["rules.yaml"].replace(*LOWER)
    results = run_all(load_sources(sources))
    failing = [r.scenario.file for r in results if not r.passed]
    assert failing
    accepted = accept_results(sources, results)
    assert all(r.passed for r in run_all(load_sources(accepted)))
    assert "解説" in accepted[failing[0]] and accepted[failing[0]].startswith(sources[failing[0]].split("\n")[0])


def test_a_case_saved_as_a_scenario_is_a_passing_scenario():
    from engine.changes.scenario_edit import scenario_file_name, scenario_text
    from engine.changes.scenarios import run_all
    pack = load_pack()
    sources = read_sources(DEFAULT_PACK)
    case = {"received_on": "2026-11-20", "channel": "minsei", "resident": True, "area": "area3", "consent": "no",
            "person": {"age": 77, "concerns": ["dementia", "no_income"]}}
    name = scenario_file_name(sources, "from the intake")
    sources[name] = scenario_text("受付から保存した事例", "民生委員からの連絡。", case, decide(pack, case))
    results = {r.scenario.file: r for r in run_all(load_sources(sources))}
    assert results[name].passed and "shien_kaigi" in results[name].decision.meetings
