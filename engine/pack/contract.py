"""The names every pack shares: what the code may read by name, and nothing city-specific.

A pack is free in its agencies, areas, programs, meetings, concerns, rules, lifecycle and
wording. The code still reads some names directly: the list names of the YAML files, the
three forms and the intake fields that lists, reports and access read, the priority a
safety rule sets, the consent answer that means agreed, the role the first account gets.
These are the pack format itself (docs/pack-guide.md), the same in every city; the test
that scans the code for city names (tests/test_no_city_in_code.py) allows exactly these.
"""
from __future__ import annotations

#: Lists a pack declares, by the name the code looks them up with.
LISTS = ("fields", "concerns", "channels", "consent", "relations", "priorities", "meeting_outcomes",
         "divisions", "areas", "school_districts", "agencies", "programs", "resources", "meetings",
         "roles", "statuses",
         # optional: reason codes for changing a recommended routing and for returning a referral
         "override_reasons", "return_reasons")

#: The forms and the fields of them the code reads (case list, reports, access, meeting records).
FORMS = {
    "intake": ("received_on", "receiving_agency", "channel", "reporter", "resident", "area", "school_district",
               "consent", "person", "name", "kana", "birth_date", "age", "address", "phone", "concerns",
               "household", "relation", "summary"),
    "plan": ("made_on", "needs", "goal", "roles", "agency", "role", "meeting", "review_on"),
    "meeting_record": ("meeting", "held_on", "attendees", "outcome", "notes", "next_review_on"),
}

#: Ids inside lists with a meaning the code relies on.
IDS = {
    "priorities": ("normal", "high", "urgent"),   # urgent: safety routes; shown in red, sorted first
    "consent": ("yes",),                          # agreed: a confidential meeting's case is then not confidential
    "roles": ("admin",),                          # the first account on a new data folder
}


def names() -> set[str]:
    """Every name above, as one set (ids and list names alike)."""
    out = set(LISTS) | set(FORMS)
    for fields in FORMS.values():
        out |= set(fields)
    for ids in IDS.values():
        out |= set(ids)
    return out
