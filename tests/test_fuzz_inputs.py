"""Hostile input gives a clean Japanese error (exit 2) or a correct result, never a traceback, a
hang or a memory blow-up: ≥ 60 hostile intake files through ``tsunagu route`` and ≥ 60 single
mutations of the configuration pack through ``tsunagu validate`` (and ``route`` when it loads).

The inputs run in a separate process (tests/fuzz_worker.py), each within 10 s of CPU time; that
process's peak resident memory must stay under 500 MB (engine/bounded.py sets the limits).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.pack import DEFAULT_PACK, load_pack
from tests.fuzz_worker import _bomb

WORKER = Path(__file__).with_name("fuzz_worker.py")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
DECISION = {"programs", "agencies", "meetings", "priority", "trace"}


def run_worker(mode: str, work: Path) -> dict:
    work.mkdir()
    done = subprocess.run([sys.executable, str(WORKER), mode, str(work), str(DEFAULT_PACK)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def check_outcome(result: dict) -> None:
    """A full decision (exit 0) or a Japanese message (exit 2); never a traceback."""
    name, code, err = result["name"], result["code"], result["err"]
    assert "Traceback" not in err and code in (0, 2), f"{name}: exit {code}\n{err[-2000:]}"
    assert result["seconds"] < 10, f"{name}: {result['seconds']} s of CPU time"
    if code == 0:
        assert DECISION <= set(json.loads(result["out"])), name
    else:
        assert err.strip() and JAPANESE.search(err), f"{name}: {err!r}"


def test_hostile_intake_files_get_a_clean_answer(tmp_path):
    run = run_worker("intake", tmp_path / "work")
    results = run["results"]
    assert len(results) >= 60
    for result in results:
        check_outcome(result)
    assert run["peak_mb"] < 500, f"peak memory {run['peak_mb']} MB"
    code = {r["name"]: r["code"] for r in results}
    # The limits bite, a BOM is no reason to refuse a valid file, and a half case is not routed.
    assert code["bom.json"] == 0 and code["bom.yaml"] == 0
    for refused in ("deep.json", "deep_obj.json", "deep.yaml", "digits.yaml", "digits.json", "float_digits.json",
                    "bomb.yaml", "bomb_in_case.yaml", "anchor_only.yaml", "merge_key.yaml", "huge.yaml",
                    "python_tag.yaml", "braces.json", "empty.yaml", "long_list.json"):
        assert code[refused] == 2, refused
    print(f"hostile intake files: {len(results)} ({sum(c == 2 for c in code.values())} refused, "
          f"{sum(c == 0 for c in code.values())} routed), peak {run['peak_mb']} MB")


def test_single_mutations_of_the_pack_load_or_fail_cleanly(tmp_path):
    run = run_worker("pack", tmp_path / "work")
    results = run["results"]
    assert len(results) >= 60
    for result in results:
        check_outcome({**result, "out": json.dumps(dict.fromkeys(DECISION))} if result["code"] == 0 else result)
        if result["code"] == 0:
            check_outcome(result["route"] | {"name": result["name"] + " (route)"})
    assert run["peak_mb"] < 500, f"peak memory {run['peak_mb']} MB"
    code = {r["name"]: r["code"] for r in results}
    for name in code:
        if name.endswith(": BOM"):
            assert code[name] == 0, name
        if "alias bomb" in name or name.endswith(("800 deep", "5000-digit value", "over 1 MB", "anchor reused")):
            assert code[name] == 2, name
    print(f"pack mutations: {len(results)} ({sum(c == 2 for c in code.values())} refused, "
          f"{sum(c == 0 for c in code.values())} loaded and routed), peak {run['peak_mb']} MB")


@pytest.mark.parametrize("name", ["bomb", "alias"])
def test_validate_refuses_aliases_in_the_pack(tmp_path, capsys, name):
    target = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, target)
    extra = _bomb() if name == "bomb" else "x: &a [1]\ny: *a\n"
    (target / "rules.yaml").write_text((DEFAULT_PACK / "rules.yaml").read_text(encoding="utf-8") + "\n" + extra,
                                       encoding="utf-8")
    assert main(["validate", "--config", str(target)]) == 2
    assert "別名" in capsys.readouterr().err


def test_a_bom_in_a_pack_file_changes_nothing(tmp_path):
    target = tmp_path / "pack"
    shutil.copytree(DEFAULT_PACK, target)
    (target / "rules.yaml").write_bytes(b"\xef\xbb\xbf" + (DEFAULT_PACK / "rules.yaml").read_bytes())
    assert load_pack(target).version == load_pack(DEFAULT_PACK).version
