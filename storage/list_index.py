"""The case list's index: beside each case shard, a small file with what the list reads of its cases.

Opening a store of 20,000 cases used to mean parsing every shard (125 MB of JSON, ~2 s on the
pilot machine) before the first ケース一覧. Most of a stored case is its intake and the engine's
explained decision, which the list never reads. ``project`` keeps of a case only what the case
list filters, sorts, shows, checks access by and masks (engine/casework/caselist.py, duties.py,
access.py), in the same shape as the case, so the same functions read either. A shard's
projections are ~8% of its size.

Each index file names the version of the shard it was made from (inode, mtime, size: the
shard is replaced, never edited, so a new write is a new version). It is written after the
shard, under the same write lock; a crash in between, a restored backup or a hand edit leaves
an index that names another version, and it is then ignored and the shard read instead. The
index is a cache: nothing is lost without it, so it is written without fsync and a file that
does not parse is treated as missing.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from storage.atomic_json import TEMP_SUFFIX
from storage.case_fields import ids_of, is_mapping
from storage.collector import collection_paused

#: Top-level fields kept whole (plain values).
_PLAIN = ("id", "status", "status_since", "created_by")
#: Routing parts kept as their ids (caselist, access.agencies_of, handoff.confirmed read ids only).
_ROUTED = ("programs", "agencies", "meetings")
_REFERRAL = ("state", "due", "agency")
_OWNER = ("agency", "worker")
#: intake fields kept whole: the list's columns and filters, and who took the case.
_INTAKE = ("received_on", "area", "resident", "receiving_agency", "consent")
#: intake.person fields the list shows and searches (masked like the case's own).
_PERSON = ("name", "kana", "consent")
#: Of each row of a list of people (the household), what access.everyone_consented reads.
_MEMBER = ("concerns", "consent")


def project(case: Mapping) -> dict:
    """What the case list reads of ``case``, shaped like it.

    An odd part (not the type a record has) is kept as it is, so an odd record reads the same.

    >>> project({"id": "C1", "status": "received", "intake": {"received_on": "2026-04-01", "note": "長い記録",
    ...          "person": {"name": "架空 花子", "birth": "1950-01-01"}},
    ...          "decision": {"priority": "normal", "agencies": [{"id": "a", "name": "A"}], "trace": []}})
    {'id': 'C1', 'status': 'received', 'intake': {'received_on': '2026-04-01', 'person': {'name': '架空 花子'}}, 'decision': {'priority': 'normal', 'agencies': ['a']}}
    """
    out: dict[str, Any] = {k: case[k] for k in _PLAIN if k in case}
    if "intake" in case:
        out["intake"] = _intake(case["intake"])
    for key in ("decision", "confirmed"):
        if key in case:
            out[key] = _routing(case[key], key == "decision")
    if "referrals" in case:
        refs = case["referrals"]
        out["referrals"] = [_pick(r, _REFERRAL) for r in refs] if isinstance(refs, list) else refs
    if "owner" in case:
        out["owner"] = _pick(case["owner"], _OWNER)
    return out


def _pick(value: Any, keys: tuple[str, ...]) -> Any:
    return {k: value[k] for k in keys if k in value} if is_mapping(value) else value


def _routing(value: Any, decision: bool) -> Any:
    if not is_mapping(value):
        return value
    out = {"priority": value["priority"]} if decision and "priority" in value else {}
    for key in _ROUTED:
        if key in value:
            out[key] = ids_of(value[key])
    return out


def _intake(intake: Any) -> Any:
    if not is_mapping(intake):
        return intake
    out = {k: intake[k] for k in _INTAKE if k in intake}
    for key, value in intake.items():
        if key == "person":
            out[key] = _pick(value, _PERSON)
        elif is_mapping(value) and "consent" in value:     # a group with its own consent
            out[key] = {"consent": value["consent"]}
        elif isinstance(value, list) and value:
            # Rows of people: what everyone_consented reads; a list holding anything else whole.
            out[key] = [_pick(row, _MEMBER) for row in value] if all(is_mapping(r) for r in value) else value
    return out


def path_for(shard: Path) -> Path:
    """Where the index of ``shard`` (``data/cases/07.json``) lives: ``data/list/07.json``."""
    return shard.parent.parent / "list" / shard.name


def write(path: Path, source: tuple, cases: list[Mapping]) -> None:
    """Replace the index at ``path`` with the projections of ``cases``, made from the shard
    version ``source``. Atomic (temp file, rename) but not fsynced: see the module doc."""
    text = json.dumps({"source": list(source), "rows": [project(c) for c in cases]},
                      ensure_ascii=False, separators=(",", ":"))
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        raise


def _head(source: tuple) -> bytes:
    return json.dumps({"source": list(source)}, separators=(",", ":"))[:-1].encode() + b',"rows":'


def is_fresh(path: Path, source: tuple) -> bool:
    """Was the index at ``path`` made from the shard version ``source``? Reads its first bytes only
    (a torn file with the right head is caught when it is read: it does not parse)."""
    head = _head(source)
    try:
        with open(path, "rb") as handle:
            return handle.read(len(head)) == head
    except OSError:
        return False


def read(path: Path, source: tuple) -> list[dict] | None:
    """The projections in the index at ``path`` if it was made from the shard version ``source``;
    None when it is missing, unreadable or made from another version."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        with collection_paused():
            data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("source") != list(source):
        return None
    rows = data.get("rows")
    if not isinstance(rows, list) or not all(type(r) is dict for r in rows):
        return None
    return rows
