"""meetings.yaml: the meetings, their cadence, consent and confidentiality."""
from __future__ import annotations

from engine.pack.schema import ID, ID_LIST, LABEL, items
from engine.pack.vocab import choices
from engine.yamlio import YamlDoc

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CADENCE = {
    "type": "dict", "required": True,
    "schema": {
        "kind": {"type": "string", "required": True, "allowed": ["monthly", "bimonthly", "on_demand"]},
        "per_year": {"type": "integer", "min": 1, "max": 48},
        "start_month": {"type": "integer", "min": 1, "max": 12},
        "weekday": {"type": "string", "allowed": WEEKDAYS},
        "week": {"type": "integer", "min": 1, "max": 5},
        "weeks": {"type": "list", "minlength": 1, "maxlength": 4, "schema": {"type": "integer", "min": 1, "max": 5}},
        "placeholder": {"type": "boolean"},
    },
}
SCHEMA = {
    "meetings": items({
        "id": {**ID, "required": True}, "label": LABEL,
        "program": {**ID, "required": True},
        "purpose": {"type": "string"},
        "cadence": CADENCE,
        "holiday_shift": {"type": "string", "allowed": ["earlier", "later"]},
        "consent_required": {"type": "boolean", "required": True},
        "confidential": {"type": "boolean", "required": True},
        "legal_basis": {"type": "string"},
        "agenda": {"type": "string", "allowed": ["cases_with_plan", "cases_routed", "case_studies", "none"]},
        "members": {**ID_LIST, "required": True},
        "member_divisions": ID_LIST,
        "also": {"type": "string"},
        "external_sessions": {"type": "integer", "min": 0},
        "subgroups": {"type": "list", "schema": {"type": "string"}},
    }, minlength=1),
}

PER_YEAR = {"monthly": 12, "bimonthly": 6}


def cadence_issues(cadence: dict) -> list[tuple[str, str, str]]:
    """Cadences that make no sense: (key, message, hint). Checked after the schema.

    >>> cadence_issues({"kind": "bimonthly", "per_year": 12, "weekday": "monday", "week": 1})
    [('per_year', '2か月ごとの会議は年6回までです（per_year: 12）', 'per_year を 6 以下にするか、kind を monthly にしてください')]
    """
    kind = cadence.get("kind")
    out = []
    if kind == "on_demand":
        extra = [k for k in ("per_year", "weekday", "week", "start_month") if k in cadence]
        if extra:
            out.append((extra[0], f"随時開催の会議に {extra[0]} は書けません", "kind を monthly / bimonthly にするか、この行を消してください"))
        return out
    if kind in PER_YEAR:
        most = PER_YEAR[kind] * len(set(cadence.get("weeks") or [1]))
        if cadence.get("per_year", most) > most:
            label = "毎月" if kind == "monthly" else "2か月ごと"
            times = f"（月{len(set(cadence['weeks']))}回）" if cadence.get("weeks") else ""
            out.append(("per_year", f"{label}{times}の会議は年{most}回までです（per_year: {cadence['per_year']}）",
                        f"per_year を {most} 以下にするか、kind を monthly にしてください"))
        if "week" in cadence and "weeks" in cadence:
            out.append(("weeks", "week と weeks を両方は書けません", "月1回なら week: 3、月2回なら weeks: [2, 4] のどちらかにしてください"))
        for key in ("weekday", "week"):
            if key not in cadence and not (key == "week" and "weeks" in cadence):
                out.append((key, f"定例の会議には {key}（開催の{'曜日' if key == 'weekday' else '週'}）が必要です",
                            "仮の値でよいので書いてください（例: weekday: thursday, week: 3。月2回なら weeks: [2, 4]）"))
    return out


def build(doc: YamlDoc):
    return choices(doc.data["meetings"])
