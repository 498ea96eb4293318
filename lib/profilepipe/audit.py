"""GDPR audit: look for plaintext personal data and minors in both stores.

The audit reads the input back from the Kafka topic (the users as they were produced),
collects every value that must never be stored — password, salt, md5/sha1/sha256, phone,
cell, street address, email local part — and searches for each in every Cassandra row
and every MongoDB aggregate document. It also checks that no stored user is a minor at
the processing date and that no user filtered as a minor has a row.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from . import generator, sinks
from .config import Settings


@dataclass
class AuditReport:
    rows_scanned: int = 0
    documents_scanned: int = 0
    secrets_checked: int = 0
    plaintext_found: list[str] = field(default_factory=list)  # "<kind> in <where>"
    minors_stored: list[str] = field(default_factory=list)  # user ids

    @property
    def clean(self) -> bool:
        return not self.plaintext_found and not self.minors_stored

    def describe(self) -> str:
        return (
            f"rows scanned: {self.rows_scanned}, aggregate documents scanned: {self.documents_scanned}, "
            f"personal values searched: {self.secrets_checked}\n"
            f"plaintext personal data found: {len(self.plaintext_found)}\n"
            f"minors stored: {len(self.minors_stored)}"
        )


def raw_users(settings: Settings, timeout_s: float = 10.0) -> list[dict]:
    """The users currently in the input topic (malformed messages skipped)."""
    users = []
    for msg in sinks.consume_all(settings, settings.kafka_topic, timeout_s):
        try:
            obj = json.loads(msg.value.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, AttributeError):
            continue
        candidates = obj.get("results", [obj]) if isinstance(obj, dict) else []
        users.extend(u for u in candidates if isinstance(u, dict) and isinstance(u.get("login"), dict))
    return users


def personal_values(user: dict) -> dict[str, str]:
    """The values of one input user that no store may hold, by kind."""
    login, loc = user.get("login") or {}, user.get("location") or {}
    street = loc.get("street") or {}
    values = {
        "password": login.get("password"),
        "salt": login.get("salt"),
        "md5": login.get("md5"),
        "sha1": login.get("sha1"),
        "sha256": login.get("sha256"),
        "phone": user.get("phone"),
        "cell": user.get("cell"),
        "street address": f"{street.get('number')} {street.get('name')}" if street else None,
        "email local part": (user.get("email") or "").split("@")[0] or None,
    }
    # very short values (a 4-letter password) would match by chance inside hashes
    return {k: str(v) for k, v in values.items() if v is not None and len(str(v)) >= 6}


def scan(settings: Settings, users: list[dict], as_of: dt.date, min_age: int | None = None) -> AuditReport:
    """Search both stores for the personal values of ``users`` and for minors."""
    min_age = settings.min_age if min_age is None else min_age
    report = AuditReport()
    session = sinks.cassandra_session(settings)
    rows = list(
        session.execute(
            f"SELECT * FROM {settings.cassandra_keyspace}.{settings.cassandra_table}", timeout=120
        )
    )
    docs = sinks.read_aggregates(settings)
    report.rows_scanned, report.documents_scanned = len(rows), len(docs)
    # Each user's values are searched in that user's own row (the API's usernames are built
    # from common words, so one user's password can appear in another's username by chance;
    # the username is a stored column by design) and in every aggregate document.
    own_rows = {
        str(r.user_id): " ".join(str(v) for k, v in r._asdict().items() if k != "username") for r in rows
    }
    aggregates_text = "\n".join(str(d) for d in docs)
    for user in users:
        uid = str((user.get("login") or {}).get("uuid"))
        for kind, value in personal_values(user).items():
            report.secrets_checked += 1
            if value in own_rows.get(uid, ""):
                report.plaintext_found.append(f"{kind} of {uid} in cassandra")
            if value in aggregates_text:
                report.plaintext_found.append(f"{kind} of {uid} in mongodb")
    for r in rows:
        birth = r.birth_date.date() if hasattr(r.birth_date, "date") else r.birth_date
        if generator.age_on(birth, as_of) < min_age or (r.age is not None and r.age < min_age):
            report.minors_stored.append(str(r.user_id))
    return report
