"""Per-nationality formats of randomuser.me API v1.4 values: postcodes, ids, phones, ASCII folding.

Each nationality's :class:`Format` says how its phone, cell, postcode and ``id.value`` are
drawn from a ``random.Random``; they follow what real API answers look like:

* postcode is an ``int`` for most nationalities, a ``str`` for CA (``"K1A 0B1"``),
  GB (``"SW1A 1AA"``), NL (``"1234 AB"``) and NO (``"0150"``, leading zero kept)
  (``STRING_POSTCODE_NATS``); AU postcodes are sometimes 3 digits;
* ``id.value`` is null for IR, NZ, TR and UA (``NULL_ID_NATS``), FI ids are garbage such
  as ``"NaNNA229undefined"``, the others carry valid check digits (CPF, SIN, BSN, DNI...);
* emails are folded to ASCII by :func:`ascii_fold` (Latin diacritics, Cyrillic, Persian),
  whose transliteration tables are ``data/transliteration.json``.

The draws are part of the generator's determinism: changing the order of any call here
changes every generated user after it.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

#: Nationalities whose postcode is a string in the API (all others: int).
STRING_POSTCODE_NATS = frozenset({"CA", "GB", "NL", "NO"})
#: Nationalities whose ``id.value`` is null.
NULL_ID_NATS = frozenset({"IR", "NZ", "TR", "UA"})


def load_data(*parts: str) -> Any:
    """The parsed JSON file ``data/<parts...>`` of this package (names, streets, tables)."""
    return json.loads(files("profilepipe.sources").joinpath("data", *parts).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- format helpers
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def pick(rng: random.Random, seq):
    """``rng.choice`` without its rejection sampling (cheaper; bias below 2**-50)."""
    return seq[int(rng.random() * len(seq))]


_FMT_CLASSES = {"#": _DIGITS, "@": "23456789", "A": _UPPER}


def _fmt(rng: random.Random, pattern: str) -> str:
    """``#`` any digit, ``@`` digit 2-9, ``A`` capital letter; everything else literal."""
    out = []
    for ch in pattern:
        pool = _FMT_CLASSES.get(ch)
        out.append(pool[int(rng.random() * len(pool))] if pool else ch)
    return "".join(out)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


@dataclass(frozen=True)
class Person:
    """What an id may be derived from (INSEE, CPR, FN and SVNR use the birth date)."""

    gender: str
    first: str
    last: str
    dob: dt.date


# ----- postcodes
def _pc_int(lo: int, hi: int) -> Callable[[random.Random], int]:
    return lambda rng: rng.randint(lo, hi)


def _pc_au(rng: random.Random) -> int:
    # ACT/NT codes are 02xx/08xx: as ints they have 3 digits.
    return rng.randint(200, 999) if rng.random() < 0.2 else rng.randint(1000, 9999)


def _pc_ca(rng: random.Random) -> str:
    first = "ABCEGHJKLMNPRSTVXY"
    other = "ABCEGHJKLMNPRSTVWXYZ"
    return (
        f"{pick(rng, first)}{rng.randint(0, 9)}{pick(rng, other)} "
        f"{rng.randint(0, 9)}{pick(rng, other)}{rng.randint(0, 9)}"
    )


_GB_AREAS = tuple(
    "SW|SE|NW|N|E|W|EC|WC|B|M|L|LS|G|EH|CF|BS|NE|S|NG|OX|CB|BN|PL|AB|YO|EX|BA|CH|IV|LN|BT|DD|KY".split("|")
)


def _pc_gb(rng: random.Random) -> str:
    inward_letters = "ABDEFGHJLNPQRSTUWXYZ"
    area = pick(rng, _GB_AREAS)
    district = str(rng.randint(1, 20 if len(area) == 2 else 9))
    if len(area) <= 2 and len(district) == 1 and rng.random() < 0.25:
        district += pick(rng, "ABEHMNPRVWXY")
    return f"{area}{district} {rng.randint(0, 9)}{pick(rng, inward_letters)}{pick(rng, inward_letters)}"


def _pc_nl(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRTVWXZ"
    return f"{rng.randint(1000, 9999)} {pick(rng, letters)}{pick(rng, letters)}"


def _pc_no(rng: random.Random) -> str:
    # Oslo's codes start with 0: keep a visible share of leading zeros.
    return f"{rng.randint(1, 1299) if rng.random() < 0.3 else rng.randint(1300, 9991):04d}"


# ----- ids
def _id_cpf(rng: random.Random, _p: Person) -> str:
    base = [rng.randint(0, 9) for _ in range(9)]
    for weight_start in (10, 11):
        s = sum(d * w for d, w in zip(base, range(weight_start, 1, -1), strict=False))
        r = (s * 10) % 11
        base.append(0 if r == 10 else r)
    d = "".join(map(str, base))
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def _id_sin(rng: random.Random, _p: Person) -> str:
    while True:
        s = f"{rng.randint(1, 9)}{rng.randint(0, 99_999_999):08d}"
        if _luhn_ok(s):
            return s


def _id_ssn(rng: random.Random, _p: Person) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _id_dni(rng: random.Random, _p: Person) -> str:
    n = rng.randint(0, 99_999_999)
    return f"{n:08d}-{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"


def _id_bsn(rng: random.Random, _p: Person) -> str:
    # "elfproef": 9*d1 + 8*d2 + ... + 2*d8 - d9 is a multiple of 11
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def _id_nino(rng: random.Random, _p: Person) -> str:
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    return f"{pick(rng, first)}{pick(rng, second)} {_fmt(rng, '## ## ##')} {pick(rng, 'ABCD')}"


def _id_insee(rng: random.Random, p: Person) -> str:
    gender = 1 if p.gender == "male" else 2
    body = f"{gender}{p.dob.year % 100:02d}{p.dob.month:02d}{_fmt(rng, '########')}"
    return f"{body} {97 - int(body) % 97:02d}"


def _id_cpr(rng: random.Random, p: Person) -> str:
    return f"{p.dob:%d%m%y}-{_fmt(rng, '####')}"


def _id_fn(rng: random.Random, p: Person) -> str:
    return f"{p.dob:%d%m%y}{_fmt(rng, '#####')}"


def _id_svnr(rng: random.Random, p: Person) -> str:
    letter = (ascii_fold(p.last)[:1] or "X").upper()
    return f"{_fmt(rng, '##')} {p.dob:%d%m%y} {letter} {_fmt(rng, '###')}"


def _id_hetu(rng: random.Random, _p: Person) -> str:
    # The API's FI ids are broken: "NaNNA" + 3 digits + "undefined".
    return f"NaNNA{_fmt(rng, '###')}undefined"


def _id_pattern(pattern: str) -> Callable[[random.Random, Person], str]:
    return lambda rng, _p: _fmt(rng, pattern)


def _id_null(_rng: random.Random, _p: Person) -> None:
    return None


# ----- phones
def _phone_pattern(pattern: str) -> Callable[[random.Random], str]:
    return lambda rng: _fmt(rng, pattern)


def _phone_in(rng: random.Random) -> str:
    return pick(rng, "789") + _fmt(rng, "#########")


def _phone_no_cell(rng: random.Random) -> str:
    return pick(rng, "49") + _fmt(rng, "#######")


def _phone_ua(rng: random.Random) -> str:
    return f"(0{pick(rng, ('66', '67', '68', '96', '97', '98', '99'))}) {_fmt(rng, 'A##-####')}"


def _phone_rs(rng: random.Random) -> str:
    return f"0{pick(rng, '123')}{_fmt(rng, '#-####-###')}"


def _phone_fr(rng: random.Random) -> str:
    return f"0{rng.randint(1, 5)}-{_fmt(rng, '##-##-##-##')}"


# --------------------------------------------------------------------------- the table
@dataclass(frozen=True)
class Format:
    """How one nationality's phone, cell, postcode and ``id.value`` are drawn."""

    phone: Callable[[random.Random], str]
    cell: Callable[[random.Random], str]
    postcode: Callable[[random.Random], int | str]
    id_value: Callable[[random.Random, Person], str | None]


_phone, _id, _pc5 = _phone_pattern, _id_pattern, _pc_int(10000, 99999)
FORMATS: dict[str, Format] = {
    "AU": Format(_phone("0@-####-####"), _phone("04##-###-###"), _pc_au, _id("#########")),
    "BR": Format(_phone("(##) ####-####"), _phone("(##) 9####-####"), _pc5, _id_cpf),
    "CA": Format(_phone("A## A##-####"), _phone("A## A##-####"), _pc_ca, _id_sin),
    "CH": Format(
        _phone("0## ### ## ##"), _phone("07# ### ## ##"), _pc_int(1000, 9999), _id("756.####.####.##")
    ),
    "DE": Format(_phone("0###-#######"), _phone("01##-#######"), _pc5, _id_svnr),
    "DK": Format(_phone("########"), _phone("########"), _pc_int(1000, 9999), _id_cpr),
    "ES": Format(_phone("9##-###-###"), _phone("6##-###-###"), _pc_int(10000, 52999), _id_dni),
    "FI": Format(_phone("0#-###-###"), _phone("04#-###-##-##"), _pc5, _id_hetu),
    "FR": Format(_phone_fr, _phone("06-##-##-##-##"), _pc_int(10000, 95999), _id_insee),
    "GB": Format(_phone("01### ######"), _phone("07### ######"), _pc_gb, _id_nino),
    "IE": Format(_phone("0##-###-####"), _phone("08#-###-####"), _pc5, _id("#######A")),
    "IN": Format(_phone_in, _phone_in, _pc5, _id("############")),
    "IR": Format(_phone("0##-########"), _phone("09##-###-####"), _pc5, _id_null),
    "MX": Format(_phone("(6##) ### ####"), _phone("(6##) ### ####"), _pc5, _id("## ## ## #### #")),
    "NL": Format(_phone("(0##) #######"), _phone("(06) ########"), _pc_nl, _id_bsn),
    "NO": Format(_phone("########"), _phone_no_cell, _pc_no, _id_fn),
    "NZ": Format(_phone("(###)-###-####"), _phone("(###)-###-####"), _pc_int(1000, 9999), _id_null),
    "RS": Format(_phone_rs, _phone("06#-####-###"), _pc5, _id("#########")),
    "TR": Format(_phone("(###)-###-####"), _phone("(###)-###-####"), _pc5, _id_null),
    "UA": Format(_phone_ua, _phone_ua, _pc5, _id_null),
    "US": Format(_phone("(@##) @##-####"), _phone("(@##) @##-####"), _pc5, _id_ssn),
}


# --------------------------------------------------------------------------- ASCII folding for emails
_EMAIL_OK = set("abcdefghijklmnopqrstuvwxyz0123456789.'-")


@functools.cache
def _transliteration() -> dict[str, str]:
    """One character -> ASCII table (Cyrillic, Persian, special Latin letters), loaded on first use."""
    tables = load_data("transliteration.json")
    return {**tables["cyrillic"], **tables["persian"], **tables["latin"]}


def ascii_fold(text: str) -> str:
    """Lower-case ASCII transliteration (Latin diacritics, Cyrillic, Persian), spaces removed."""
    table = _transliteration()
    folded = unicodedata.normalize("NFKD", "".join(table.get(ch, ch) for ch in text.lower()))
    return "".join(c for c in folded if c in _EMAIL_OK)
