"""The randomuser.me API (v1.4) client.

:class:`RandomUserClient` calls ``settings.api_url`` (pinned to ``/api/1.4/``) with a
timeout on every call, a polite minimum interval between calls, and retries with
exponential backoff and jitter on everything the API is known to do when it is
unwell (observed in real answers): connection errors and timeouts, HTTP 429 (``Retry-After``
honoured), 5xx HTML outage pages, a JSON ``{"error": ...}`` body and a 200 answer
holding fewer users than asked (``"results": []``). After the last attempt it
raises :class:`SourceError` saying which URL, how many attempts and the last
status/reason. Parameters the API would silently "fix" (``results`` out of
1..5000, an unknown ``nat`` code, a seed of exactly 18 characters) are refused
with ``ValueError`` before any call.

Choosing between the API, the sample files and the generator is :mod:`profilepipe.sources`.
"""

from __future__ import annotations

import email.utils
import logging
import math
import random
import secrets
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import requests

from profilepipe import __version__, contract
from profilepipe.config import Settings, get_settings
from profilepipe.errors import SourceError

log = logging.getLogger(__name__)

MAX_RESULTS = 5000
MAX_PAGE = 10000
_RETRY_4XX = {408, 425, 429}


@dataclass(frozen=True)
class _Retry:
    """An attempt worth repeating: why, the HTTP status if any, and the server's Retry-After."""

    reason: str
    status: int | None = None
    retry_after: float | None = None


def _csv(value: str | Iterable[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()]


def check_nat(nat: str | Iterable[str] | None) -> str | None:
    """``"GB,FR"`` / ``["gb", "fr"]`` -> ``"GB,FR"``; none -> None; unknown code -> ``ValueError``.

    The API's form of ``contract.check_nats`` (the API ignores the whole filter when one code
    is unknown and returns every nationality: refusing here is the only way to notice).
    """
    return ",".join(contract.check_nats(nat)) or None


def check_seed(seed: str | None) -> str | None:
    if seed is None:
        return None
    seed = str(seed)
    if len(seed) == 18:
        raise ValueError(
            f"seed {seed!r} has exactly 18 characters: the API reads its last two characters as a "
            "nationality index and can fail; use another length"
        )
    return seed


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _html_title(text: str) -> str:
    low = text.lower()
    start = low.find("<title>")
    end = low.find("</title>", start)
    if start >= 0 and end > start:
        return " ".join(text[start + 7 : end].split())[:80]
    return " ".join(text.split())[:80]


class RandomUserClient:
    """randomuser.me API v1.4 client; every knob comes from :class:`Settings`.

    ``session`` (a ``requests.Session``) and ``sleep`` can be injected (tests).
    ``history`` lists every attempt as ``{"attempt", "status", "reason", "wait"}``,
    ``wait`` being the pause taken before the next attempt.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ):
        self.settings = settings or get_settings()
        self.session = session or requests.Session()
        self.url = self.settings.api_url
        if not urlsplit(self.url).path.rstrip("/").endswith("/1.4"):
            warnings.warn(f"api_url {self.url!r} is not pinned to /api/1.4/", stacklevel=2)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._last_call: float | None = None
        self.history: list[dict] = []

    # ------------------------------------------------------------------ parameters
    @staticmethod
    def build_params(
        results: int = 1,
        nat: str | Iterable[str] | None = None,
        gender: str | None = None,
        seed: str | None = None,
        page: int | None = None,
        inc: str | Iterable[str] | None = None,
        exc: str | Iterable[str] | None = None,
    ) -> dict[str, str]:
        """Validated query parameters (``ValueError`` for anything the API would silently change)."""
        if isinstance(results, bool) or not isinstance(results, int) or not 1 <= results <= MAX_RESULTS:
            raise ValueError(
                f"results must be an int in 1..{MAX_RESULTS} (the API answers 1 user "
                f"otherwise), not {results!r}"
            )
        params: dict[str, str] = {"results": str(results)}
        nat_value = check_nat(nat)
        if nat_value:
            params["nat"] = nat_value
        seed = check_seed(seed)
        if gender is not None:
            if gender not in ("male", "female"):
                raise ValueError(f"gender must be 'male' or 'female', not {gender!r}")
            if seed is not None:
                warnings.warn("the API ignores gender when a seed is given", stacklevel=3)
            params["gender"] = gender
        if seed is not None:
            params["seed"] = seed
        if page is not None:
            if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
                raise ValueError(f"page must be an int in 1..{MAX_PAGE}, not {page!r}")
            params["page"] = str(page)
        for name, value in (("inc", inc), ("exc", exc)):
            fields = [f.lower() for f in _csv(value)]
            bad = [f for f in fields if f not in contract.USER_KEYS]
            if bad:
                raise ValueError(f"{name}: unknown field(s) {bad}; fields are {','.join(contract.USER_KEYS)}")
            if fields:
                params[name] = ",".join(fields)
        return params

    # ------------------------------------------------------------------ calls
    def fetch(
        self,
        results: int = 1,
        nat: str | Iterable[str] | None = None,
        gender: str | None = None,
        seed: str | None = None,
        page: int | None = None,
        inc: str | Iterable[str] | None = None,
        exc: str | Iterable[str] | None = None,
        retries: int | None = None,
    ) -> dict:
        """One API call (with retries): the response envelope ``{"results": [...], "info": {...}}``."""
        params = self.build_params(results, nat=nat, gender=gender, seed=seed, page=page, inc=inc, exc=exc)
        return self._get(params, expected=results, attempts=retries or self.settings.api_retries)

    def iter_users(
        self,
        count: int,
        nat: str | Iterable[str] | None = None,
        gender: str | None = None,
        seed: str | None = None,
        inc: str | Iterable[str] | None = None,
        exc: str | Iterable[str] | None = None,
        page_size: int = MAX_RESULTS,
        retries: int | None = None,
    ) -> Iterator[dict]:
        """``count`` users, paging (``page`` 1, 2, ... with one seed) past 5000 per call.

        Without ``seed`` the settings' seed is used; when that is empty too the users are
        unseeded (new ones each call), and a request over several pages draws one random
        seed so that its pages belong together.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        if not 1 <= page_size <= MAX_RESULTS:
            raise ValueError(f"page_size must be in 1..{MAX_RESULTS}")
        seed = seed if seed is not None else (self.settings.seed or None)
        pages = math.ceil(count / page_size)
        if seed is None and pages > 1:
            seed = secrets.token_hex(8)  # 16 characters (a seed of 18 is read specially)
        if pages > MAX_PAGE:
            raise ValueError(f"{count} users need {pages} pages; the API stops at page {MAX_PAGE}")
        remaining = count
        for page in range(1, pages + 1):
            n = min(page_size, remaining)
            # a seeded page's users do not depend on its size: the first n of 5000 are the n
            body = self.fetch(
                results=n, nat=nat, gender=gender, seed=seed, page=page, inc=inc, exc=exc, retries=retries
            )
            yield from body["results"][:n]
            remaining -= n

    def users(self, count: int, **kwargs) -> list[dict]:
        """A list of :meth:`iter_users`."""
        return list(self.iter_users(count, **kwargs))

    # ------------------------------------------------------------------ internals
    def _pace(self) -> None:
        if self._last_call is None or self.settings.api_min_interval <= 0:
            return
        left = self._last_call + self.settings.api_min_interval - time.monotonic()
        if left > 0:
            self._sleep(left)

    def _backoff(self, attempt: int) -> float:
        base = max(0.0, self.settings.api_backoff_base)
        delay = min(self.settings.api_backoff_max, base * 2 ** (attempt - 1))
        return delay / 2 + self._rng.uniform(0, delay / 2)  # "equal jitter"

    def _once(self, params: dict[str, str], expected: int) -> dict | _Retry:
        """One call: the envelope, a ``_Retry`` saying why to try again, or ``SourceError``."""
        self._pace()
        self._last_call = time.monotonic()
        try:
            resp = self.session.get(
                self.url,
                params=params,
                timeout=self.settings.api_timeout,
                headers={"Accept": "application/json", "User-Agent": f"profilepipe/{__version__}"},
            )
        except requests.Timeout as exc:
            return _Retry(f"timeout after {self.settings.api_timeout}s ({type(exc).__name__})")
        except requests.ConnectionError as exc:
            return _Retry(f"connection error: {exc}")
        status = resp.status_code
        text = resp.text
        body = None
        try:
            body = resp.json()
        except ValueError:
            pass
        error = body.get("error") if isinstance(body, dict) else None
        if status == 429:
            return _Retry(
                f"HTTP 429 rate limited{': ' + str(error) if error else ''}",
                status,
                _parse_retry_after(resp.headers.get("Retry-After")),
            )
        if status >= 500:
            what = f"error {error!r}" if error else f"HTML outage page {_html_title(text)!r}"
            return _Retry(
                f"HTTP {status} ({what})", status, _parse_retry_after(resp.headers.get("Retry-After"))
            )
        if status in _RETRY_4XX:
            return _Retry(f"HTTP {status}", status)
        if status >= 400:
            raise SourceError(
                f"{resp.url} answered HTTP {status}: {error or _html_title(text)} "
                "(not retried: check api_url and the parameters)",
                last_status=status,
                last_reason=f"HTTP {status}",
            )
        if error:
            return _Retry(f"HTTP {status} with error body: {error}", status)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            return _Retry(f"HTTP {status} but not an API response ({_html_title(text)!r})", status)
        got = len(body["results"])
        if got < expected:
            said = (body.get("info") or {}).get("results")
            return _Retry(f"HTTP {status} with {got} of {expected} users (info.results={said})", status)
        if got > expected:
            body["results"] = body["results"][:expected]
        return body

    def _get(self, params: dict[str, str], expected: int, attempts: int) -> dict:
        attempts = max(1, int(attempts))
        url = f"{self.url}?{urlencode(params)}"
        last: _Retry | None = None
        for attempt in range(1, attempts + 1):
            try:
                body = self._once(params, expected)
            except SourceError as exc:  # not worth retrying
                exc.url, exc.attempts = url, attempt
                self.history.append(
                    {"attempt": attempt, "status": exc.last_status, "reason": exc.last_reason, "wait": 0.0}
                )
                raise
            if isinstance(body, _Retry):
                last = body
                wait = 0.0
                if attempt < attempts:
                    wait = self._backoff(attempt)
                    if last.retry_after is not None:  # the server said how long: do as told
                        wait = min(last.retry_after, self.settings.api_backoff_max)
                self.history.append(
                    {"attempt": attempt, "status": last.status, "reason": last.reason, "wait": wait}
                )
                log.warning(
                    "randomuser.me attempt %d/%d failed: %s%s",
                    attempt,
                    attempts,
                    last.reason,
                    f"; retrying in {wait:.2f}s" if attempt < attempts else "",
                )
                if attempt < attempts and wait > 0:
                    self._sleep(wait)
                continue
            self.history.append({"attempt": attempt, "status": 200, "reason": "ok", "wait": 0.0})
            return body
        assert last is not None
        raise SourceError(
            f"randomuser.me: no usable answer from {url} after {attempts} attempt(s); last: {last.reason}",
            url=url,
            attempts=attempts,
            last_status=last.status,
            last_reason=last.reason,
        )


__all__ = ["RandomUserClient", "check_nat", "check_seed", "MAX_RESULTS", "MAX_PAGE"]
