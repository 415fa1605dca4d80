"""The ``tsunagu`` command as staff and scripts use it."""
from __future__ import annotations

import json
import shutil

from engine.cli import main
from engine.pack import DEFAULT_PACK

CASE_8050 = """received_on: "2026-11-20"
channel: self
resident: true
area: area2
consent: "yes"
person: {age: 82, concerns: [care_need]}
household: [{relation: 長男, age: 52, concerns: [withdrawal]}]
summary: "…"
"""


def test_validate_passes_on_the_hannan_pack(capsys):
    assert main(["validate"]) == 0
    assert "有効です" in capsys.readouterr().out


def test_validate_fails_with_japanese_errors(tmp_path, capsys):
    root = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, root)
    text = (root / "rules.yaml").read_text(encoding="utf-8").replace("agencies: [kikan_soudan]", "agencies: [kikan_sodan]")
    (root / "rules.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", "--config", str(root)]) == 2
    err = capsys.readouterr().err
    assert "rules.yaml" in err and "行目" in err and "もしかして: kikan_soudan" in err


def test_route_prints_the_contract_json(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text(CASE_8050, encoding="utf-8")
    assert main(["route", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"config_version", "priority", "programs", "agencies", "meetings", "trace"}
    assert {"id": "multi_agency", "name": "多機関協働事業"} in out["programs"]
    assert {"id": "juso_kaigi", "name": "重層的支援会議"} in out["meetings"]
    assert {"id": "csw_area2", "name": "CSW（第2圏域担当）"} in out["agencies"]
    assert all(set(t) >= {"rule", "reason", "facts"} for t in out["trace"])


def test_route_accepts_json_and_explains_in_japanese(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps({"received_on": "2026-11-20", "resident": True, "area": "area1", "consent": "no",
                                "channel": "neighbour",
                                "person": {"age": 70, "concerns": ["isolation"]}}, ensure_ascii=False), encoding="utf-8")
    assert main(["route", str(path), "--explain"]) == 0
    out = capsys.readouterr().out
    assert "なぜこの振り分けか" in out and "CSW（第1圏域担当）" in out


def test_route_accepts_consent_per_person_and_shows_proposals_and_where_rules_come_from(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text("received_on: '2026-11-20'\nresident: true\narea: area2\nchannel: self\n"
                    "person: {age: 80, concerns: [care_need], consent: \"yes\"}\n"
                    "household: [{relation: 息子, age: 50, concerns: [withdrawal], consent: \"yes\"}]\n", encoding="utf-8")
    assert main(["route", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["proposed_programs"] == [{"id": "participation", "name": "参加支援事業"}]
    assert "participation" not in [p["id"] for p in out["programs"]]
    assert [m["id"] for m in out["meetings"]] == ["juso_kaigi"]
    assert all(("source" in t) + ("law" in t) + ("policy" in t) == 1 for t in out["trace"])
    assert main(["route", str(path), "--explain"]) == 0
    text = capsys.readouterr().out
    assert "提案する事業（重層的支援会議で利用の適否を協議）: 参加支援事業" in text and "（市の方針）" in text


def test_route_rejects_a_bad_case_with_exit_2(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text("resident: true\nperson: {age: abc, concerns: [care_ned]}\n", encoding="utf-8")
    assert main(["route", str(path)]) == 2
    err = capsys.readouterr().err
    assert "もしかして: care_need" in err and "年齢" in err


def test_route_reports_broken_yaml_with_its_line(tmp_path, capsys):
    path = tmp_path / "case.yaml"
    path.write_text("resident: true\nperson: {age: 3\n", encoding="utf-8")
    assert main(["route", str(path)]) == 2
    assert "行目" in capsys.readouterr().err


def test_demo_data_stores_routed_fictional_cases_with_timelines(tmp_path, capsys):
    from storage import open_repository
    assert main(["demo-data", "--data", str(tmp_path), "--cases", "30"]) == 0
    assert "30 件" in capsys.readouterr().out
    with open_repository(tmp_path) as repo:
        cases = repo.list_cases()
        assert len(cases) == 30 and all(c["demo"] and c["decision"]["programs"] for c in cases)
        # Intake first; then, for most demo cases, what staff did (tests/test_handoff_cli.py).
        assert all([e["type"] for e in repo.events(c["id"])][:2] == ["received", "decided"] for c in cases)
        areas = {c["intake"].get("area") for c in cases}
    assert {"area1", "area2", "area3", "area4"} <= areas


def test_test_command_runs_the_scenarios(capsys):
    assert main(["test"]) == 0
    assert "失敗 0 件" in capsys.readouterr().out


def test_test_command_shows_expected_versus_got(tmp_path, capsys):
    root = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, root)
    path = root / "scenarios" / "01_single_elderly_care.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("agencies: [houkatsu_a]", "agencies: [houkatsu_b]"), encoding="utf-8")
    assert main(["test", "--config", str(root)]) == 1
    out = capsys.readouterr().out
    assert "失敗 1 件" in out and "地域包括支援センターB" in out


def test_serve_becomes_the_streamlit_server(tmp_path):
    """`tsunagu serve` replaces itself with Streamlit: the PID a service manager holds is the
    server, and SIGTERM to that PID alone frees the port (no orphaned child)."""
    import os
    import signal
    import socket
    import subprocess
    from pathlib import Path

    from tests.e2e_support import ROOT, free_port, wait_until_answering
    port = free_port()
    exe = ROOT / ".venv" / "bin" / "tsunagu"
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([str(exe), "serve", "--port", str(port), "--data", str(tmp_path / "data")],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_answering(proc, f"http://127.0.0.1:{port}/", log_path)
            cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
            assert b"streamlit" in cmdline and b"run" in cmdline
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
            assert children == []
            proc.send_signal(signal.SIGTERM)                # to the one PID, not its group
            assert proc.wait(timeout=20) is not None
            with socket.socket() as s:                        # nothing listens on the port any more
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # (closed connections may linger)
                s.bind(("127.0.0.1", port))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert "起動します" in log_path.read_text(encoding="utf-8")


def test_installed_packages_are_the_pinned_ones():
    """`make install` installs from constraints.txt; every pin names one exact version and the
    environment the tests run in has exactly those versions."""
    from importlib.metadata import PackageNotFoundError, version
    from pathlib import Path

    lines = [line.strip() for line in (Path(__file__).resolve().parents[1] / "constraints.txt").read_text().splitlines()]
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    assert {"streamlit", "durable_rules", "tinydb", "Cerberus", "PyYAML", "playwright"} <= set(pins)
    wrong = {}
    for name, pinned in pins.items():
        try:
            if version(name) != pinned:
                wrong[name] = (pinned, version(name))
        except PackageNotFoundError:
            wrong[name] = (pinned, None)
    assert wrong == {}
