"""``tsunagu init``: a new city's pack from the template, valid and green at once; ``serve``
never mixes two cities' data."""
from __future__ import annotations

import yaml

from engine.changes.versions import ensure_live
from engine.cli import main
from engine.pack import DEFAULT_PACK, load_pack
from engine.rules.decide import decide
from storage import open_repository

# The legally required safety routes the template must carry: concern → agencies, all 緊急.
SAFETY = {
    "abuse_child": {"kodomo_katei_center", "jido_soudanjo"},          # 児童虐待防止法 第6条
    "abuse_elderly": {"houkatsu_1", "kaigo_hoken_tanto"},             # 高齢者虐待防止法 第7条 (area1)
    "abuse_disabled": {"shogai_gyakutai_center"},                     # 障害者虐待防止法 第32条
    "dv": {"haigusha_center"},                                        # 配偶者暴力防止法 第3条
    "suicide_risk": {"seishin_hoken"},
}


def test_init_validate_test_in_a_fresh_folder(tmp_path, capsys):
    folder = tmp_path / "sakura"
    assert main(["init", str(folder), "--city", "さくら市"]) == 0
    assert "さくら市 重層的支援体制整備事業" in capsys.readouterr().out
    assert main(["validate", "--config", str(folder)]) == 0
    assert main(["test", "--config", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "失敗 0 件" in out
    pack = load_pack(folder)
    assert pack.info["city"]["name"] == "さくら市" and pack.id == "sakura"
    assert "さくら市在住" in pack.intake.field("resident").label


def test_the_template_is_the_national_frame_with_placeholders(tmp_path):
    main(["init", str(tmp_path / "p"), "--city", "さくら市"])
    pack = load_pack(tmp_path / "p")
    assert [p.get("number") for p in pack.programs] == [1, 2, 3, 4, 5]
    meetings = {m.id: m for m in pack.meetings}
    assert meetings["juso_kaigi"].get("consent_required") and not meetings["juso_kaigi"].get("confidential")
    assert meetings["shien_kaigi"].get("confidential") and not meetings["shien_kaigi"].get("consent_required")
    roster = yaml.safe_load((tmp_path / "p" / "roster.yaml").read_text(encoding="utf-8"))
    assert all(a.get("placeholder") for a in roster["areas"] + roster["divisions"])
    assert all(a.get("placeholder") for a in roster["agencies"] if a["kind"] != "external")


def test_every_safety_route_names_its_agency_and_is_urgent(tmp_path):
    main(["init", str(tmp_path / "p"), "--city", "さくら市"])
    pack = load_pack(tmp_path / "p")
    for concern, agencies in SAFETY.items():
        for consent in ("yes", "no", "unknown"):
            d = decide(pack, {"received_on": "2026-11-20", "channel": "self", "resident": True, "area": "area1",
                              "consent": consent, "person": {"age": 70, "concerns": [concern]}})
            assert d.priority == "urgent" and agencies <= set(d.agencies), (concern, consent, d.agencies)


def test_init_refuses_a_folder_with_files_and_a_missing_city(tmp_path, capsys):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("大事なメモ", encoding="utf-8")
    assert main(["init", str(tmp_path / "used"), "--city", "さくら市"]) == 2
    assert "空ではありません" in capsys.readouterr().err
    assert (tmp_path / "used" / "notes.txt").read_text(encoding="utf-8") == "大事なメモ"
    assert main(["init", str(tmp_path / "new"), "--city", " "]) == 2
    assert "--city" in capsys.readouterr().err and not (tmp_path / "new").exists()


def test_serve_refuses_a_data_folder_of_another_city(tmp_path, capsys):
    data = tmp_path / "data"
    with open_repository(data) as repo:
        ensure_live(repo, DEFAULT_PACK)
    assert main(["serve", "--config", str(DEFAULT_PACK.parent / "nanaumi"), "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "別のデータのフォルダ" in err and load_pack().name in err


def test_serve_reports_a_broken_pack_before_starting(tmp_path, capsys):
    main(["init", str(tmp_path / "p"), "--city", "さくら市"])
    (tmp_path / "p" / "rules.yaml").write_text("rules: [", encoding="utf-8")
    assert main(["serve", "--config", str(tmp_path / "p"), "--data", str(tmp_path / "data")]) == 2
    assert "rules.yaml" in capsys.readouterr().err
