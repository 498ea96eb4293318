"""Where users come from, and the producer that sends them to Kafka.

Three sources of randomuser.me API v1.4 users (``SOURCES``), chosen here:

* ``api`` - :mod:`~profilepipe.sources.api`, the randomuser.me client (retries, pacing,
  parameters checked before any call);
* ``samples`` - :mod:`~profilepipe.sources.samples`, the API response files of
  ``data/samples/`` replayed;
* ``generator`` - :mod:`~profilepipe.sources.generator`, the seeded offline generator
  (per-nationality formats in :mod:`~profilepipe.sources.formats`, names, streets and
  cities in ``data/``), and its small demo set of malformed messages.

:func:`users_from` takes users from one source, with no silent fallback;
:func:`users_with_fallback` tries the API and falls back to the generator with a note
saying so (what the notebooks use: CI has no internet). :mod:`~profilepipe.sources.producer`
sends users and raw messages to Kafka.

    from profilepipe import sources
    users = sources.users_from("generator", 100, settings=settings)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from profilepipe import contract
from profilepipe.config import Settings, get_settings
from profilepipe.errors import SourceError
from profilepipe.sources import generator
from profilepipe.sources.api import RandomUserClient, check_nat
from profilepipe.sources.samples import load_samples

log = logging.getLogger(__name__)

SOURCES = ("api", "samples", "generator")


def users_from(
    source: str,
    count: int | None,
    seed: str | None = None,
    nat: str | Iterable[str] | None = None,
    settings: Settings | None = None,
) -> list[dict]:
    """``count`` users from ``api``, ``samples`` or ``generator``.

    ``seed`` defaults to ``settings.seed``: for the API an empty one means unseeded (new
    users each run), the generator falls back to ``settings.generator_seed``; its processing date is
    ``settings.as_of`` (today when empty). ``samples`` returns the replayed users
    (filtered by ``nat``), at most ``count`` of them (all when ``count`` is None).
    ``api`` raises :class:`SourceError` when the API cannot be reached: there is no
    silent fallback here (see :func:`users_with_fallback`).
    """
    settings = settings or get_settings()
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    if source == "samples":
        codes = set(contract.check_nats(nat))
        users = [u for u in load_samples() if not codes or u.get("nat") in codes]
        if count is not None and count > len(users):
            log.warning("samples hold %d users, %d asked", len(users), count)
        return users if count is None else users[:count]
    if count is None:
        raise ValueError(f"count is required for source {source!r}")
    if source == "api":
        return RandomUserClient(settings).users(count, nat=nat, seed=seed)
    seed = seed or settings.generator_seed
    return generator.generate_users(count, seed=seed, nats=check_nat(nat), as_of=settings.as_of or None)


def users_with_fallback(
    count: int,
    seed: str | None = None,
    nat: str | Iterable[str] | None = None,
    settings: Settings | None = None,
    retries: int | None = 2,
    client: RandomUserClient | None = None,
) -> tuple[list[dict], str, str]:
    """Try the API; when it fails, use the generator. Returns ``(users, source_used, note)``.

    ``retries`` bounds the API attempts here (default 2, so a machine without
    internet falls back in about a second; ``None`` uses ``settings.api_retries``).
    ``note`` says what happened, to be shown to the reader.
    """
    settings = settings or get_settings()
    client = client or RandomUserClient(settings)
    try:
        users = client.users(count, nat=nat, seed=seed, retries=retries)
    except SourceError as exc:
        seed = seed or settings.generator_seed
        users = generator.generate_users(count, seed=seed, nats=check_nat(nat), as_of=settings.as_of or None)
        note = (
            f"randomuser.me unavailable ({exc.last_reason or exc}); using {count} users from the "
            f"offline generator (seed {seed!r}) instead"
        )
        log.warning(note)
        return users, "generator", note
    seeded = f"seed {seed or settings.seed!r}" if (seed or settings.seed) else "unseeded"
    return users, "api", f"{len(users)} users from {settings.api_url} ({seeded})"


__all__ = ["SOURCES", "users_from", "users_with_fallback"]
