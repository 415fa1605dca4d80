"""``validate`` refuses what would leave a pack inconsistent (duplicate ids of every kind, a
lifecycle no case can finish, no rule to route by), ``route`` refuses a case the form would
refuse, and CLI publish/rollback are audited with the right author and reason.

The broken packs are made from the bundled ones by editing their parsed YAML, so the tests
follow the packs as they change.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from engine.changes.versions import ensure_live, history, publish
from engine.cli import main
from engine.errors import ConfigError
from engine.pack import DEFAULT_PACK, bundled_packs, load_sources, read_sources
from engine.pack.refs import duplicate_ids
from storage import open_repository
from storage.audit import AuditLog

NO_SCENARIOS = lambda sources: {k: v for k, v in sources.items() if not k.startswith("scenarios/")}  # noqa: E731


class _NoAliases(yaml.SafeDumper):
    """Writes a repeated object out again instead of an alias (which the loader refuses)."""

    def ignore_aliases(self, data):
        return True


def edited(root: Path, name: str, edit) -> dict:
    """The pack's sources with ``name`` parsed, changed by ``edit`` (in place) and dumped again."""
    sources = NO_SCENARIOS(read_sources(root))
    data = yaml.safe_load(sources[name])
    edit(data)
    sources[name] = yaml.dump(data, Dumper=_NoAliases, allow_unicode=True, sort_keys=False)
    return sources


def issues_of(sources: dict) -> list:
    with pytest.raises(ConfigError) as caught:
        load_sources(sources, "試験")
    return list(caught.value.issues)


def id_lists(data, path=""):
    """(path, list) of every list of entries with ids in a parsed file."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from id_lists(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        if any(isinstance(item, dict) and "id" in item for item in data):
            yield path, data
        for i, item in enumerate(data):
            yield from id_lists(item, f"{path}[{i}]")


def every_id_list(root: Path) -> list[tuple[str, str]]:
    """(file, list path) of every list of entries with ids in the pack's configuration files."""
    out = []
    for name, text in sorted(NO_SCENARIOS(read_sources(root)).items()):
        out += [(name, path) for path, items in id_lists(yaml.safe_load(text)) if len(items) >= 1]
    return out


def _at(data, path: str):
    for part in path.replace("]", "").replace("[", ".").split("."):
        data = data[int(part)] if part.isdigit() else data[part]
    return data


KINDS = every_id_list(DEFAULT_PACK)


def test_every_kind_of_id_list_is_found():
    files = {name for name, _ in KINDS}
    assert {"roles.yaml", "roster.yaml", "vocabularies.yaml", "meetings.yaml", "lifecycle.yaml", "programs.yaml",
            "resources.yaml", "rules.yaml", "forms/intake.yaml"} <= files
    assert len(KINDS) >= 20


@pytest.mark.parametrize(("name", "path"), KINDS, ids=[f"{n}:{p}" for n, p in KINDS])
def test_a_duplicate_id_in_any_list_is_refused(name, path):
    def duplicate_first(data):
        items = _at(data, path)
        first = next(item for item in items if isinstance(item, dict) and "id" in item)
        items.append(dict(first))
    found = issues_of(edited(DEFAULT_PACK, name, duplicate_first))
    assert any(i.file == name and ("重複" in i.message or "同じID" in i.message) for i in found), \
        "\n".join(i.render() for i in found)


def test_duplicate_ids_walks_nested_lists():
    data = {"a": [{"id": "x", "sub": [{"id": 1}, {"id": 1}]}, {"id": "y"}, {"id": "x"}]}
    assert sorted(duplicate_ids(data)) == [("a[0].sub[1].id", "1"), ("a[2].id", "x")]


@pytest.mark.parametrize("root", bundled_packs(), ids=lambda p: p.name)
def test_a_lifecycle_whose_final_states_cannot_be_reached_is_refused(root):
    def cut_the_way_out(data):
        final = {s["id"] for s in data["statuses"] if s.get("final")}
        for s in data["statuses"]:
            s["next"] = [n for n in s.get("next") or [] if n not in final]
            if not s["next"] and not s.get("final"):
                s["next"] = [data["initial"]]
        data.pop("on_outcome", None)
    found = issues_of(edited(root, "lifecycle.yaml", cut_the_way_out))
    assert any(i.file == "lifecycle.yaml" and "たどり着けません" in i.message and i.line for i in found), found


@pytest.mark.parametrize("root", bundled_packs(), ids=lambda p: p.name)
def test_a_status_no_case_can_reach_is_refused(root):
    def add_orphan(data):
        final = next(s["id"] for s in data["statuses"] if s.get("final"))
        data["statuses"].append({"id": "orphan_status", "label": "迷子", "next": [final]})
    found = issues_of(edited(root, "lifecycle.yaml", add_orphan))
    assert [i.key for i in found if "迷子" in i.message and "たどっても" in i.message] == \
        [f"statuses[{len(yaml.safe_load(read_sources(root)['lifecycle.yaml'])['statuses'])}]"]


@pytest.mark.parametrize("how", ["empty", "all_disabled"])
def test_a_pack_without_an_enabled_rule_is_refused(how, tmp_path, capsys):
    def edit(data):
        if how == "empty":
            data["rules"] = []
        else:
            for rule in data["rules"]:
                rule["enabled"] = False
    sources = edited(DEFAULT_PACK, "rules.yaml", edit)
    assert any(i.key == "rules" and "有効なルールが 1 件もありません" in i.message for i in issues_of(sources))
    for name, text in sources.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert main(["validate", "--config", str(tmp_path)]) == 2
    assert "有効なルールが 1 件もありません" in capsys.readouterr().err


def test_the_bundled_packs_pass_the_new_checks():
    for root in bundled_packs():
        load_sources(read_sources(root), str(root))


# -- route checks required fields like the form ------------------------------------------------
def _scenario_case(root: Path = DEFAULT_PACK) -> dict:
    first = sorted((root / "scenarios").glob("*.yaml"))[0]
    return yaml.safe_load(first.read_text(encoding="utf-8"))["case"]


@pytest.mark.parametrize("drop", ["everything", "received_on", "person", "person.age"])
def test_route_refuses_a_case_missing_what_the_form_requires(drop, tmp_path, capsys):
    case = _scenario_case()
    if drop == "everything":
        case = {}
    elif "." in drop:
        group, field = drop.split(".")
        case[group] = {k: v for k, v in case[group].items() if k != field}
    else:
        case.pop(drop)
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    assert main(["route", str(path)]) == 2
    err = capsys.readouterr().err
    assert "は必須です" in err and "Traceback" not in err


def test_route_still_routes_a_complete_case(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_scenario_case(), ensure_ascii=False), encoding="utf-8")
    assert main(["route", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["agencies"]


# -- publish and rollback from the CLI ---------------------------------------------------------
def _draft(tmp_path: Path) -> Path:
    draft = tmp_path / "draft"
    for name, text in read_sources(DEFAULT_PACK).items():
        (draft / name).parent.mkdir(parents=True, exist_ok=True)
        (draft / name).write_text(text.replace("# ", "#  ", 1) if name == "rules.yaml" else text, encoding="utf-8")
    return draft


def test_cli_publish_and_rollback_are_audited(tmp_path, capsys):
    data = tmp_path / "data"
    draft = _draft(tmp_path)
    assert main(["publish", str(draft), "--data", str(data), "--author", "試験", "--reason", "コメントを直す"]) == 0
    with open_repository(data) as repo:
        first, published = [v.id for v in history(repo)]
    assert main(["rollback", first, "--data", str(data), "--author", "試験", "--reason", "戻す"]) == 0
    with open_repository(data) as repo:
        rolled = history(repo)[-1].id
    log = AuditLog(data)
    entries = [e for e in log.entries() if e["action"].startswith("config_")]
    assert [(e["action"], e["version"]) for e in entries] == [("config_publish", published), ("config_rollback", rolled)]
    assert entries[1]["target"] == first and entries[0]["actor"].startswith("cli:")
    assert all(e.get("change") for e in entries)          # written with the switch, as one change (storage/journal.py)
    assert log.verify().ok


def test_a_retried_publish_records_the_retry_s_author_and_reason(tmp_path):
    sources = read_sources(_draft(tmp_path))
    with open_repository(tmp_path / "data") as repo:
        base = ensure_live(repo, DEFAULT_PACK)

        class Killed(Exception):
            pass

        def dies_before_the_flip(*args, **kwargs):
            raise Killed               # the version record is saved, the live pointer not flipped
        real_set_meta, repo.set_meta = repo.set_meta, dies_before_the_flip
        with pytest.raises(Killed):
            publish(repo, sources, "最初の人", "最初の理由", base)
        repo.set_meta = real_set_meta
        info = publish(repo, sources, "やり直した人", "やり直しの理由", base)
        live = history(repo)[-1]
        assert (info.author, info.reason) == (live.author, live.reason) == ("やり直した人", "やり直しの理由")
        assert live.live and repo.get_version(live.id)["author"] == "やり直した人"
        # The same person retrying with the same reason reuses the record the crash left.
        assert len(repo.list_versions()) == 3
