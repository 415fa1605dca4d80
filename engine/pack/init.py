"""``tsunagu init``: a new city's pack from the template in ``engine/pack/template/``.

The template holds the national frame only: the five programs, the 重層的支援会議 /
支援会議 split by consent, and the safety routes the law names (child abuse, elder
abuse, abuse of disabled people, DV, suicide risk: each to its agency, 緊急). What the
city must fill in is marked ``placeholder: true``. The new pack validates and passes its
starter scenarios as created, so a city starts from green and changes one thing at a time.
"""
from __future__ import annotations

import re
from pathlib import Path

from engine.errors import TsunaguError

TEMPLATE = Path(__file__).resolve().parent / "template"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


def pack_id_for(folder: Path) -> str:
    """An ASCII pack id from the folder name, or ``city`` when the name is not one.

    >>> pack_id_for(Path("/srv/packs/Sakura-shi")), pack_id_for(Path("さくら市"))
    ('sakura_shi', 'city')
    """
    candidate = re.sub(r"[^a-z0-9_]", "_", folder.name.lower()).strip("_")
    return candidate if _ID.match(candidate) else "city"


def init_pack(dest: Path | str, city: str) -> list[Path]:
    """Write a new pack for ``city`` into the empty or absent folder ``dest``; the files written."""
    dest, city = Path(dest), city.strip()
    if not city or any(c in city for c in "{}:#\n\"'"):
        raise TsunaguError("市の名前を --city で指定してください（例: --city さくら市）。記号 { } : # と引用符は使えません")
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise TsunaguError(f"{dest} はすでにあり、空ではありません。新しいフォルダを指定してください（上書きはしません）")
    written = []
    for src in sorted(TEMPLATE.rglob("*.yaml")):
        target = dest / src.relative_to(TEMPLATE)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8").replace("__CITY__", city).replace("__PACK_ID__", pack_id_for(dest))
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
