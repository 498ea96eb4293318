"""A stored row with only what the aggregates read (``contract.group_rows``): for the unit
tests of the aggregate rule, the audit's comparison and the age spread."""

from __future__ import annotations

import datetime as dt


def aggregate_row(nat: str = "DE", country: str = "Germany", gender: str = "female", age: int = 30) -> dict:
    return {
        "nationality": nat,
        "country": country,
        "gender": gender,
        "age": age,
        "email_domain": "example.com",
        "registered_at": dt.datetime(2015, 6, 1, 12, 0),
        "ingested_at": dt.datetime(2026, 1, 15, 10, 30, 5),
    }
