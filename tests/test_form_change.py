"""What removing or renaming a form field or a list entry does, said before it is done."""
from __future__ import annotations

import re

import pytest

from engine.casework.cases import take_intake
from engine.changes.form_change import (
    add_field,
    choice_usage,
    field_change,
    field_change_notice,
    move_field,
    remove_field,
    set_field_keys,
    update_item,
)
from engine.pack import DEFAULT_PACK, load_pack, load_sources, read_sources
from storage import open_repository

CASE = {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area2", "consent": "yes",
        "person": {"age": 82, "concerns": ["care_need"], "kana": "かくう"},
        "household": [{"relation": "長男", "age": 52, "concerns": ["withdrawal"]}], "summary": "架空の相談"}


@pytest.fixture(scope="module")
def pack():
    return load_pack()


@pytest.fixture(scope="module")
def sources():
    return read_sources(DEFAULT_PACK)


@pytest.fixture
def repo(tmp_path, pack):
    with open_repository(tmp_path) as repo:
        for _ in range(3):
            take_intake(repo, pack, CASE)
        take_intake(repo, pack, {**CASE, "summary": ""})
        yield repo


def test_notice_counts_cases_with_a_value_and_names_the_rules(pack, repo):
    change = field_change(pack, "intake", "person.consent", None, repo)
    assert change.blocked and change.cases == 4                 # the old top-level consent became the person's
    assert "この項目は 4 件のケースに値があります" in change.text
    assert "振り分けルール「複雑化・複合化・同意のある人 → 重層的支援会議」" in change.text and "先にルールを直してください" in change.text
    assert "complex_consent" not in change.text                 # rules by their names, never ids


def test_unreferenced_field_is_safe_and_its_values_stay(pack, repo):
    notice = field_change_notice(pack, "intake", "summary", None, repo)
    assert "3 件のケースに値があります" in notice           # the empty summary is not counted
    assert "削除しても値はケースに残り" in notice and "現在のフォームにない項目" in notice
    assert not field_change(pack, "intake", "summary", None, repo).blocked


def test_a_plain_list_of_case_records_works_too(pack):
    assert field_change(pack, "intake", "summary", None, [{"intake": CASE}, {"intake": {}}]).cases == 1


def test_member_fields_are_followed_through_derived_facts(pack):
    change = field_change(pack, "intake", "household.age", None, [])
    assert change.blocked
    assert "「世帯の最年長の年齢」" in change.text and "「18歳未満の子どもがいる」" in change.text
    assert "「65歳以上への虐待の疑い → 地域包括支援センター・介護保険課（緊急）」" in change.text
    assert "画面には表示されなくなります" not in change.text  # no values: nothing to say about them


def test_show_if_and_covering_block_too(pack):
    assert "「日常生活圏域」「小学校区」の表示条件" in field_change_notice(pack, "intake", "resident", None, [])
    area = field_change(pack, "intake", "area", None, [])
    assert area.blocked and "「介護 → 地域包括支援センター」" in area.text      # {kind: houkatsu, covering: area}


def test_fields_the_application_reads_are_blocked(pack):
    assert field_change(pack, "meeting_record", "outcome", None, []).blocked
    assert not field_change(pack, "meeting_record", "notes", None, []).blocked


def test_rename_says_values_stay_under_the_old_id(pack, repo):
    notice = field_change_notice(pack, "intake", "summary", "overview", repo)
    assert "古いID「summary」のまま" in notice and "表示名の変更が安全" in notice
    assert field_change(pack, "intake", "summary", "Bad-Id", repo).blocked
    assert field_change(pack, "intake", "summary", "resident", repo).blocked
    assert field_change(pack, "intake", "person.consent", "agreement", repo).blocked


def test_choice_usage_counts_cases_and_names_config(pack, repo):
    used = choice_usage(pack, "concerns", "care_need", repo)
    assert used.blocked and used.cases == 4 and "4 件のケース" in used.text
    abuse = choice_usage(pack, "concerns", "abuse", [])
    assert abuse.blocked and "「虐待の疑い → 緊急」" in abuse.text and "表示条件" in abuse.text
    assert "ルールの設定（本人の続柄）" in choice_usage(pack, "relations", "self", []).text
    assert not re.search(r"[a-z_]{3,}", abuse.text)                    # no id, no file name (「DV」 is a label word)
    assert "シナリオ" in choice_usage(pack, "relations", "eldest_son", []).text   # scenarios write 長男
    assert not choice_usage(pack, "relations", "grandparent", repo).blocked
    assert "会議の構成機関" in choice_usage(pack, "agencies", "kurashi_marugoto", []).text


def test_edits_keep_comments_and_load(sources):
    text = sources["forms/intake.yaml"]
    for edited in (set_field_keys(text, "person.consent", {"label": "本人の同意", "help": None}),
                   set_field_keys(text, "person.kana", {"label": "かな"}),
                   add_field(text, "household", {"id": "job", "type": "text", "label": "仕事"}),
                   add_field(text, None, {"id": "visits", "type": "integer", "label": "訪問回数", "min": 0, "help": ""}),
                   move_field(text, "summary", -1), remove_field(text, "summary"),
                   set_field_keys(text, "summary", {"show_if": {"fact": "resident", "op": "=", "value": True}})):
        assert "# show_if: 表示する条件" in edited
        load_sources({**sources, "forms/intake.yaml": edited})
    meetings = update_item(sources["meetings.yaml"], "meetings", "juso_kaigi",
                           {"cadence": {"kind": "monthly", "per_year": 12, "weekday": "friday", "week": 3, "placeholder": True}})
    assert "cadence: {kind: monthly, per_year: 12, weekday: friday, week: 3, placeholder: true}" in meetings
    assert "# 社会福祉法 第106条の6" in meetings
