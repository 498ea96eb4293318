"""Seeded offline generator of randomuser.me API v1.4 users.

The live API cannot be reached from CI, never returns a minor and has had long
outages, so the pipeline is tested on users made here. They follow the v1.4 shape
exactly (key order, types and the per-nationality quirks seen in real API answers):

* postcode is an ``int`` for most nationalities, a ``str`` for CA (``"K1A 0B1"``),
  GB (``"SW1A 1AA"``), NL (``"1234 AB"``) and NO (``"0150"``, leading zero kept);
  AU postcodes are sometimes 3 digits;
* ``id`` is ``{"name": "", "value": None}`` for IR, NZ, TR and UA, and FI ids are
  garbage such as ``"NaNNA229undefined"``;
* coordinates are strings, dates are ``YYYY-MM-DDTHH:MM:SS.mmmZ``;
* names are in Persian script for IR and in Cyrillic for UA and RS; emails are
  ``first.last@example.com`` folded to ASCII;
* ``login.md5/sha1/sha256`` are the real digests of ``password + salt``.

Unlike the API, a share of users are minors (``minor_share``, including the edge
cases "turns 18 tomorrow", "born on 29 February" and, among the adults, "turns 18
today"), and a share have addresses longer than 100 UTF-8 bytes
(``long_address_share``). Everything is derived from one ``random.Random`` seeded
from ``(seed, page)``: the same arguments always give the same users, uuids included.

The name, street and city lists below were written for this project (common names
and real place names); only the structure of the API's per-nationality data was
studied, none of its data or code is used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

API_VERSION = "1.4"

NATIONALITIES: tuple[str, ...] = (
    "AU",
    "BR",
    "CA",
    "CH",
    "DE",
    "DK",
    "ES",
    "FI",
    "FR",
    "GB",
    "IE",
    "IN",
    "IR",
    "MX",
    "NL",
    "NO",
    "NZ",
    "RS",
    "TR",
    "UA",
    "US",
)

COUNTRY_NAMES: dict[str, str] = {
    "AU": "Australia",
    "BR": "Brazil",
    "CA": "Canada",
    "CH": "Switzerland",
    "DE": "Germany",
    "DK": "Denmark",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "IN": "India",
    "IR": "Iran",
    "MX": "Mexico",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "RS": "Serbia",
    "TR": "Turkey",
    "UA": "Ukraine",
    "US": "United States",
}

#: ``id.name`` per nationality ("" where the API gives ``{"name": "", "value": null}``).
ID_NAMES: dict[str, str] = {
    "AU": "TFN",
    "BR": "CPF",
    "CA": "SIN",
    "CH": "AVS",
    "DE": "SVNR",
    "DK": "CPR",
    "ES": "DNI",
    "FI": "HETU",
    "FR": "INSEE",
    "GB": "NINO",
    "IE": "PPS",
    "IN": "UIDAI",
    "IR": "",
    "MX": "NSS",
    "NL": "BSN",
    "NO": "FN",
    "NZ": "",
    "RS": "SID",
    "TR": "",
    "UA": "",
    "US": "SSN",
}

#: Nationalities whose postcode is a string in the API (all others: int).
STRING_POSTCODE_NATS = frozenset({"CA", "GB", "NL", "NO"})
#: Nationalities whose ``id.value`` is null.
NULL_ID_NATS = frozenset({"IR", "NZ", "TR", "UA"})

#: Dead-letter reasons, in the order the transform checks them.
DEAD_LETTER_REASONS = (
    "invalid_json",
    "not_a_user",
    "missing_uuid",
    "invalid_uuid",
    "invalid_dob",
    "future_dob",
)

# Registration dates start where the API's do (2002-03-21).
_REGISTERED_MIN = dt.date(2002, 3, 21)
_PICTURE_BASE = "https://randomuser.me/api/portraits/"


def _l(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in text.split("|") if s.strip())


# --------------------------------------------------------------------------- shared lists
_PASSWORDS = _l(
    "password|123456|qwerty|letmein|dragon|monkey|sunshine|master|shadow|football|batman|trustno1|"
    "superman|hunter2|tigger|buster|cookie|pepper|ginger|maggie|blondie|snoopy|yellow|chelsea|merlin|"
    "phoenix|zxcvbn|asdfgh|iloveyou|welcome|abc123|starwars|baseball|hockey|ranger|harley|thunder|"
    "summer|winter|spring|autumn|orange|banana|pumpkin|rocket|matrix|silver|golden|jaguar|cheese|"
    "qazwsx|passw0rd|changeme|1q2w3e|nirvana|beatles|scooby|marley|wizard|corvette|freedom"
)
_USER_ADJ = _l(
    "happy|sad|angry|lazy|crazy|brave|calm|silver|golden|purple|green|blue|red|orange|black|white|"
    "tiny|big|heavy|quick|silent|wild|lucky|sleepy|fancy|funny|proud|shy|bold|clever"
)
_USER_NOUN = _l(
    "tiger|lion|bear|wolf|fox|rabbit|duck|goose|swan|eagle|owl|hawk|snake|frog|fish|shark|whale|"
    "panda|koala|zebra|leopard|monkey|gorilla|elephant|peacock|ladybug|butterfly|cat|dog|bird|"
    "mouse|horse|meercat|ostrich|kangaroo"
)
# (offset, description) like the API's timezone objects.
_TIMEZONES: tuple[tuple[str, str], ...] = (
    ("-12:00", "Eniwetok, Kwajalein"),
    ("-11:00", "Midway Island, Samoa"),
    ("-10:00", "Hawaii"),
    ("-9:00", "Alaska"),
    ("-8:00", "Pacific Time (US & Canada)"),
    ("-7:00", "Mountain Time (US & Canada)"),
    ("-6:00", "Central Time (US & Canada), Mexico City"),
    ("-5:00", "Eastern Time (US & Canada), Bogota, Lima"),
    ("-4:00", "Atlantic Time (Canada), Caracas, La Paz"),
    ("-3:30", "Newfoundland"),
    ("-3:00", "Brazil, Buenos Aires, Georgetown"),
    ("-2:00", "Mid-Atlantic"),
    ("-1:00", "Azores, Cape Verde Islands"),
    ("0:00", "Western Europe Time, London, Lisbon, Casablanca"),
    ("+1:00", "Brussels, Copenhagen, Madrid, Paris"),
    ("+2:00", "Kaliningrad, South Africa"),
    ("+3:00", "Baghdad, Riyadh, Moscow, St. Petersburg"),
    ("+3:30", "Tehran"),
    ("+4:00", "Abu Dhabi, Muscat, Baku, Tbilisi"),
    ("+4:30", "Kabul"),
    ("+5:00", "Ekaterinburg, Islamabad, Karachi, Tashkent"),
    ("+5:30", "Bombay, Calcutta, Madras, New Delhi"),
    ("+5:45", "Kathmandu"),
    ("+6:00", "Almaty, Dhaka, Colombo"),
    ("+7:00", "Bangkok, Hanoi, Jakarta"),
    ("+8:00", "Beijing, Perth, Singapore, Hong Kong"),
    ("+9:00", "Tokyo, Seoul, Osaka, Sapporo, Yakutsk"),
    ("+9:30", "Adelaide, Darwin"),
    ("+10:00", "Eastern Australia, Guam, Vladivostok"),
    ("+11:00", "Magadan, Solomon Islands, New Caledonia"),
    ("+12:00", "Auckland, Wellington, Fiji, Kamchatka"),
)


# --------------------------------------------------------------------------- format helpers
_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _pick(rng: random.Random, seq):
    """``rng.choice`` without its rejection sampling (3x faster; bias below 2**-50)."""
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
class _Person:
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
        f"{_pick(rng, first)}{rng.randint(0, 9)}{_pick(rng, other)} "
        f"{rng.randint(0, 9)}{_pick(rng, other)}{rng.randint(0, 9)}"
    )


_GB_AREAS = _l("SW|SE|NW|N|E|W|EC|WC|B|M|L|LS|G|EH|CF|BS|NE|S|NG|OX|CB|BN|PL|AB|YO|EX|BA|CH|IV|LN|BT|DD|KY")


def _pc_gb(rng: random.Random) -> str:
    inward_letters = "ABDEFGHJLNPQRSTUWXYZ"
    area = _pick(rng, _GB_AREAS)
    district = str(rng.randint(1, 20 if len(area) == 2 else 9))
    if len(area) <= 2 and len(district) == 1 and rng.random() < 0.25:
        district += _pick(rng, "ABEHMNPRVWXY")
    return f"{area}{district} {rng.randint(0, 9)}{_pick(rng, inward_letters)}{_pick(rng, inward_letters)}"


def _pc_nl(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRTVWXZ"
    return f"{rng.randint(1000, 9999)} {_pick(rng, letters)}{_pick(rng, letters)}"


def _pc_no(rng: random.Random) -> str:
    # Oslo's codes start with 0: keep a visible share of leading zeros.
    return f"{rng.randint(1, 1299) if rng.random() < 0.3 else rng.randint(1300, 9991):04d}"


# ----- ids
def _id_cpf(rng: random.Random, _p: _Person) -> str:
    base = [rng.randint(0, 9) for _ in range(9)]
    for weight_start in (10, 11):
        s = sum(d * w for d, w in zip(base, range(weight_start, 1, -1), strict=False))
        r = (s * 10) % 11
        base.append(0 if r == 10 else r)
    d = "".join(map(str, base))
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def _id_sin(rng: random.Random, _p: _Person) -> str:
    while True:
        s = f"{rng.randint(1, 9)}{rng.randint(0, 99_999_999):08d}"
        if _luhn_ok(s):
            return s


def _id_ssn(rng: random.Random, _p: _Person) -> str:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def _id_dni(rng: random.Random, _p: _Person) -> str:
    n = rng.randint(0, 99_999_999)
    return f"{n:08d}-{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"


def _id_bsn(rng: random.Random, _p: _Person) -> str:
    # "elfproef": 9*d1 + 8*d2 + ... + 2*d8 - d9 is a multiple of 11
    while True:
        digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(7)]
        check = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if check < 10:
            return "".join(map(str, digits)) + str(check)


def _id_nino(rng: random.Random, _p: _Person) -> str:
    first = "ABCEGHJKLMNOPRSTWXYZ"
    second = "ABCEGHJKLMNPRSTWXYZ"
    return f"{_pick(rng, first)}{_pick(rng, second)} {_fmt(rng, '## ## ##')} {_pick(rng, 'ABCD')}"


def _id_insee(rng: random.Random, p: _Person) -> str:
    gender = 1 if p.gender == "male" else 2
    body = f"{gender}{p.dob.year % 100:02d}{p.dob.month:02d}{_fmt(rng, '########')}"
    return f"{body} {97 - int(body) % 97:02d}"


def _id_cpr(rng: random.Random, p: _Person) -> str:
    return f"{p.dob:%d%m%y}-{_fmt(rng, '####')}"


def _id_fn(rng: random.Random, p: _Person) -> str:
    return f"{p.dob:%d%m%y}{_fmt(rng, '#####')}"


def _id_svnr(rng: random.Random, p: _Person) -> str:
    letter = (_ascii_fold(p.last)[:1] or "X").upper()
    return f"{_fmt(rng, '##')} {p.dob:%d%m%y} {letter} {_fmt(rng, '###')}"


def _id_hetu(rng: random.Random, _p: _Person) -> str:
    # The API's FI ids are broken: "NaNNA" + 3 digits + "undefined".
    return f"NaNNA{_fmt(rng, '###')}undefined"


def _id_pattern(pattern: str) -> Callable[[random.Random, _Person], str]:
    return lambda rng, _p: _fmt(rng, pattern)


def _id_null(_rng: random.Random, _p: _Person) -> None:
    return None


# ----- phones
def _phone_pattern(pattern: str) -> Callable[[random.Random], str]:
    return lambda rng: _fmt(rng, pattern)


def _phone_in(rng: random.Random) -> str:
    return _pick(rng, "789") + _fmt(rng, "#########")


def _phone_no_cell(rng: random.Random) -> str:
    return _pick(rng, "49") + _fmt(rng, "#######")


def _phone_ua(rng: random.Random) -> str:
    return f"(0{_pick(rng, ('66', '67', '68', '96', '97', '98', '99'))}) {_fmt(rng, 'A##-####')}"


def _phone_rs(rng: random.Random) -> str:
    return f"0{_pick(rng, '123')}{_fmt(rng, '#-####-###')}"


def _phone_fr(rng: random.Random) -> str:
    return f"0{rng.randint(1, 5)}-{_fmt(rng, '##-##-##-##')}"


@dataclass(frozen=True)
class _NatData:
    male: tuple[str, ...]
    female: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[str, ...]
    states: tuple[str, ...]
    long_streets: tuple[str, ...]
    long_cities: tuple[str, ...]
    phone: Callable[[random.Random], str]
    cell: Callable[[random.Random], str]
    postcode: Callable[[random.Random], int | str]
    id_value: Callable[[random.Random, _Person], str | None]


_NATS: dict[str, _NatData] = {
    "AU": _NatData(
        male=_l(
            "Jack|Oliver|William|Noah|Thomas|James|Lucas|Henry|Liam|Ethan|Samuel|Harrison|Lachlan|"
            "Cooper|Riley|Mitchell|Jayden|Connor|Brodie|Hamish|Angus|Darcy|Flynn|Lincoln"
        ),
        female=_l(
            "Charlotte|Olivia|Amelia|Isla|Mia|Ava|Grace|Chloe|Sophie|Matilda|Ruby|Zoe|Harper|Evie|"
            "Sienna|Willow|Ella|Jasmine|Madison|Tahlia|Kayla|Brooke|Abbey|Holly"
        ),
        last=_l(
            "Smith|Jones|Williams|Brown|Wilson|Taylor|Johnson|White|Martin|Anderson|Thompson|Nguyen|"
            "Thomas|Walker|Harris|Lee|Ryan|Robinson|Kelly|King|Davis|Wright|Evans|Roberts|Green|Hall|"
            "Wood|Jackson|Clarke|Patel"
        ),
        streets=_l(
            "George Street|Pitt Street|Bourke Street|Collins Street|Flinders Street|Queen Street|"
            "King Street|Elizabeth Street|Hunter Street|Macquarie Street|Adelaide Street|"
            "Swanston Street|Chapel Street|Brunswick Street|Oxford Street|Victoria Road|"
            "Parramatta Road|Anzac Parade|Beach Road|Station Street|Church Street|High Street|"
            "Main Road|Park Avenue"
        ),
        cities=_l(
            "Sydney|Melbourne|Brisbane|Perth|Adelaide|Hobart|Darwin|Canberra|Newcastle|Wollongong|"
            "Geelong|Townsville|Cairns|Toowoomba|Ballarat|Bendigo|Albury|Launceston|Mackay|"
            "Rockhampton|Bunbury|Bundaberg|Wagga Wagga|Mildura|Orange|Dubbo|Tamworth|Kalgoorlie"
        ),
        states=_l(
            "New South Wales|Victoria|Queensland|Western Australia|South Australia|Tasmania|"
            "Northern Territory|Australian Capital Territory"
        ),
        long_streets=_l(
            "Great Ocean Road Heritage Coastal Walking Track Service Lane|"
            "Mount Kosciuszko Summit Walk Thredbo Valley Scenic Access Road"
        ),
        long_cities=_l("Mamungkukumpurangkuntjunya Hill Settlement|Kangaroo Island Penneshaw Ferry Landing"),
        phone=_phone_pattern("0@-####-####"),
        cell=_phone_pattern("04##-###-###"),
        postcode=_pc_au,
        id_value=_id_pattern("#########"),
    ),
    "BR": _NatData(
        male=_l(
            "João|Pedro|Lucas|Gabriel|Matheus|Rafael|Gustavo|Felipe|Bruno|Thiago|Leonardo|Rodrigo|"
            "Vinícius|Caio|Diego|Marcelo|André|Otávio|Henrique|Murilo|Luiz|Sérgio|Fábio|Cauã"
        ),
        female=_l(
            "Maria|Ana|Júlia|Beatriz|Larissa|Fernanda|Camila|Letícia|Gabriela|Mariana|Isabela|Luana|"
            "Bianca|Raquel|Tainá|Vitória|Aline|Patrícia|Cecília|Lívia|Yasmin|Débora|Natália|Heloísa"
        ),
        last=_l(
            "Silva|Santos|Oliveira|Souza|Rodrigues|Ferreira|Alves|Pereira|Lima|Gomes|Costa|Ribeiro|"
            "Martins|Carvalho|Almeida|Lopes|Soares|Fernandes|Vieira|Barbosa|Rocha|Dias|Nascimento|"
            "Andrade|Moreira|Nunes|Cardoso|Teixeira|Araújo|Mendes"
        ),
        streets=_l(
            "Rua São Paulo|Rua Sete de Setembro|Avenida Brasil|Rua das Flores|Rua Dom Pedro II|"
            "Rua Quinze de Novembro|Avenida Paulista|Rua Santa Luzia|Rua Tiradentes|Rua da Paz|"
            "Rua Rui Barbosa|Rua Bahia|Rua Minas Gerais|Rua Castro Alves|Rua Duque de Caxias|"
            "Travessa dos Açores|Rua Belo Horizonte|Rua Principal|Rua Treze de Maio|"
            "Avenida Getúlio Vargas"
        ),
        cities=_l(
            "São Paulo|Rio de Janeiro|Belo Horizonte|Salvador|Fortaleza|Curitiba|Manaus|Recife|"
            "Porto Alegre|Belém|Goiânia|Campinas|São Luís|Maceió|Natal|Teresina|Florianópolis|"
            "Cuiabá|Juiz de Fora|Londrina|Niterói|Santos|Sorocaba|Uberlândia|Ribeirão Preto|Aracaju"
        ),
        states=_l(
            "São Paulo|Rio de Janeiro|Minas Gerais|Bahia|Ceará|Paraná|Amazonas|Pernambuco|"
            "Rio Grande do Sul|Pará|Goiás|Maranhão|Alagoas|Rio Grande do Norte|Piauí|Santa Catarina|"
            "Mato Grosso|Sergipe|Espírito Santo|Paraíba|Tocantins|Rondônia|Acre|Amapá|Roraima|"
            "Mato Grosso do Sul|Distrito Federal"
        ),
        long_streets=_l(
            "Avenida Presidente Juscelino Kubitschek de Oliveira Esquina com Rua Conceição|"
            "Rua Desembargador Guilherme Estellita Cavalcanti de Albuquerque"
        ),
        long_cities=_l("São João da Boa Vista do Paraíso Mirim|Santa Rita do Passa Quatro das Águas"),
        phone=_phone_pattern("(##) ####-####"),
        cell=_phone_pattern("(##) 9####-####"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_cpf,
    ),
    "CA": _NatData(
        male=_l(
            "Liam|Noah|William|Benjamin|Logan|Owen|Jacob|Nathan|Félix|Olivier|Samuel|Émile|Alexis|"
            "Mathis|Gabriel|Zachary|Tristan|Hunter|Carter|Dylan|Ethan|Connor|Caleb|Jayden"
        ),
        female=_l(
            "Olivia|Emma|Charlotte|Léa|Florence|Alice|Chloé|Sophie|Emily|Ava|Maya|Zoé|Rosalie|"
            "Camille|Juliette|Madison|Abigail|Hannah|Élodie|Maëlle|Megan|Brooklyn|Addison|Clara"
        ),
        last=_l(
            "Tremblay|Gagnon|Roy|Côté|Bouchard|Gauthier|Morin|Lavoie|Fortin|Gagné|Ouellet|Pelletier|"
            "Bélanger|Lévesque|Bergeron|Leblanc|Smith|Brown|Martin|Wilson|MacDonald|Campbell|Anderson|"
            "Taylor|Thompson|White|Wong|Singh|Lee|Li"
        ),
        streets=_l(
            "Main St|King St|Queen St|Yonge St|Dundas St|Bloor St|Rue Sainte-Catherine|"
            "Rue Saint-Denis|Boulevard René-Lévesque|Robson St|Granville St|Portage Ave|Jasper Ave|"
            "Wellington St|Bay St|Spadina Ave|Bank St|Elgin St|Duke St|Oak St|Maple Ave|"
            "Lakeshore Rd|Grande Allée|Rue Principale"
        ),
        cities=_l(
            "Toronto|Montréal|Vancouver|Calgary|Edmonton|Ottawa|Winnipeg|Québec|Hamilton|Kitchener|"
            "London|Victoria|Halifax|Oshawa|Windsor|Saskatoon|Regina|St. John's|Sherbrooke|Barrie|"
            "Kelowna|Abbotsford|Trois-Rivières|Moncton|Saint John|Fredericton|Charlottetown|Lévis|"
            "Gatineau|Kingston"
        ),
        states=_l(
            "Ontario|Québec|British Columbia|Alberta|Manitoba|Saskatchewan|Nova Scotia|New Brunswick|"
            "Newfoundland and Labrador|Prince Edward Island|Northwest Territories|Yukon|Nunavut"
        ),
        long_streets=_l(
            "Boulevard du Curé-Antoine-Labelle Sud et Chemin de la Côte-Sainte-Catherine|"
            "Chemin du Lac-Saint-Jean-Baptiste-de-la-Pointe-aux-Outardes"
        ),
        long_cities=_l(
            "Saint-Louis-du-Ha! Ha!-de-Témiscouata-sur-le-Lac|Notre-Dame-des-Sept-Douleurs-de-l'Isle-Verte"
        ),
        phone=_phone_pattern("A## A##-####"),
        cell=_phone_pattern("A## A##-####"),
        postcode=_pc_ca,
        id_value=_id_sin,
    ),
    "CH": _NatData(
        male=_l(
            "Luca|Noah|Leon|David|Nico|Julian|Elias|Jonas|Levin|Matteo|Gian|Reto|Urs|Beat|Lukas|"
            "Samuel|Marco|Andrea|Loïc|Théo|Mathéo|Yannick|Florian|Dominik"
        ),
        female=_l(
            "Mia|Emma|Lina|Lara|Lea|Anna|Elena|Laura|Nina|Sara|Chiara|Alessia|Céline|Noémie|Manon|"
            "Léonie|Jana|Seraina|Ursula|Nadine|Sandra|Corinne|Fabienne|Martina"
        ),
        last=_l(
            "Müller|Meier|Schmid|Keller|Weber|Huber|Schneider|Meyer|Steiner|Fischer|Gerber|Brunner|"
            "Baumann|Frei|Zimmermann|Moser|Widmer|Wyss|Graf|Roth|Favre|Bonvin|Rochat|Rossi|Bernasconi|"
            "Fontana|Lüthi|Bühler|Zürcher|Aebischer"
        ),
        streets=_l(
            "Bahnhofstrasse|Hauptstrasse|Dorfstrasse|Kirchweg|Seestrasse|Schulstrasse|Rue du Lac|"
            "Rue de la Gare|Avenue de la Gare|Rue du Bourg|Chemin des Vignes|Via Nassa|"
            "Via Cantonale|Marktgasse|Rosenweg|Lindenstrasse|Gartenstrasse|Rue des Alpes|Grand-Rue|"
            "Bergstrasse|Rue du Moulin|Im Hof|Sonnenbergstrasse|Mühleweg"
        ),
        cities=_l(
            "Zürich|Genève|Basel|Lausanne|Bern|Winterthur|Luzern|St. Gallen|Lugano|Biel/Bienne|Thun|"
            "Köniz|La Chaux-de-Fonds|Fribourg|Schaffhausen|Chur|Neuchâtel|Vernier|Uster|Sion|Emmen|"
            "Yverdon-les-Bains|Zug|Kriens|Rapperswil-Jona|Dübendorf|Montreux|Bellinzona|Aarau"
        ),
        states=_l(
            "Zürich|Bern|Luzern|Uri|Schwyz|Obwalden|Nidwalden|Glarus|Zug|Fribourg|Solothurn|"
            "Basel-Stadt|Basel-Landschaft|Schaffhausen|Appenzell Ausserrhoden|Appenzell Innerrhoden|"
            "St. Gallen|Graubünden|Aargau|Thurgau|Ticino|Vaud|Valais|Neuchâtel|Genève|Jura"
        ),
        long_streets=_l(
            "Oberdorfstrasse beim Alten Schützenhaus und Unterer Mühlebachweg|"
            "Chemin de la Fontaine-aux-Grenouilles-sous-les-Vignes-du-Lavaux"
        ),
        long_cities=_l(
            "Schwellbrunn-Schönengrund im Appenzellerhinterland|Saint-Légier-La Chiésaz-sur-Vevey-et-Blonay"
        ),
        phone=_phone_pattern("0## ### ## ##"),
        cell=_phone_pattern("07# ### ## ##"),
        postcode=_pc_int(1000, 9999),
        id_value=_id_pattern("756.####.####.##"),
    ),
    "DE": _NatData(
        male=_l(
            "Lukas|Leon|Finn|Jonas|Paul|Felix|Maximilian|Elias|Ben|Noah|Tim|Jan|Niklas|Moritz|Florian|"
            "Tobias|Sebastian|Matthias|Jürgen|Uwe|Dieter|Klaus|Horst|Günter|Wolfgang|Björn"
        ),
        female=_l(
            "Anna|Lena|Lea|Hannah|Laura|Lisa|Sophie|Marie|Julia|Leonie|Katharina|Johanna|Sabine|"
            "Petra|Monika|Ursula|Brigitte|Heike|Anke|Jutta|Birgit|Jessica|Svenja|Jördis|Käthe|Anneliese"
        ),
        last=_l(
            "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Schäfer|Koch|"
            "Bauer|Richter|Klein|Wolf|Schröder|Neumann|Schwarz|Zimmermann|Braun|Krüger|Hofmann|"
            "Hartmann|Lange|Schmitt|Werner|Krause|Meier|Lehmann|Köhler|Jäger|Groß|Böhm"
        ),
        streets=_l(
            "Hauptstraße|Schulstraße|Gartenstraße|Bahnhofstraße|Dorfstraße|Bergstraße|Birkenweg|"
            "Lindenstraße|Kirchstraße|Waldstraße|Ringstraße|Schillerstraße|Goethestraße|Amselweg|"
            "Jahnstraße|Mühlenweg|Wiesenweg|Rosenstraße|Buchenweg|Am Sportplatz|Talstraße|"
            "Friedhofstraße|Mozartstraße|Poststraße|Marktplatz|Kastanienallee"
        ),
        cities=_l(
            "Berlin|Hamburg|München|Köln|Frankfurt am Main|Stuttgart|Düsseldorf|Leipzig|Dortmund|"
            "Essen|Bremen|Dresden|Hannover|Nürnberg|Duisburg|Bochum|Wuppertal|Bielefeld|Bonn|Münster|"
            "Mannheim|Karlsruhe|Augsburg|Wiesbaden|Mönchengladbach|Gelsenkirchen|Aachen|"
            "Braunschweig|Kiel|Chemnitz|Halle (Saale)|Magdeburg|Freiburg im Breisgau|Lübeck|Erfurt"
        ),
        states=_l(
            "Baden-Württemberg|Bayern|Berlin|Brandenburg|Bremen|Hamburg|Hessen|"
            "Mecklenburg-Vorpommern|Niedersachsen|Nordrhein-Westfalen|Rheinland-Pfalz|Saarland|"
            "Sachsen|Sachsen-Anhalt|Schleswig-Holstein|Thüringen"
        ),
        long_streets=_l(
            "Donaudampfschifffahrtsgesellschaftskapitänsstraße|"
            "Oberbürgermeister-Dr.-Heinrich-Lübke-Gedächtnisallee"
        ),
        long_cities=_l(
            "Hellschen-Heringsand-Unterschaar an der Eider|Schmedeswurtherwesterdeich bei Wöhrden"
        ),
        phone=_phone_pattern("0###-#######"),
        cell=_phone_pattern("01##-#######"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_svnr,
    ),
    "DK": _NatData(
        male=_l(
            "Mikkel|Rasmus|Mads|Frederik|Emil|Lucas|Magnus|Oliver|Noah|Victor|Christian|Anders|Jens|"
            "Søren|Niels|Lars|Morten|Kasper|Jesper|Bjørn|Asger|Tobias|Malthe|Aksel"
        ),
        female=_l(
            "Emma|Ida|Freja|Clara|Laura|Anna|Sofie|Mathilde|Caroline|Julie|Karoline|Signe|Maja|"
            "Astrid|Line|Mette|Camilla|Louise|Birgitte|Kirsten|Ditte|Nanna|Åse|Sørine"
        ),
        last=_l(
            "Jensen|Nielsen|Hansen|Pedersen|Andersen|Christensen|Larsen|Sørensen|Rasmussen|Jørgensen|"
            "Petersen|Madsen|Kristensen|Olsen|Thomsen|Christiansen|Poulsen|Johansen|Møller|Mortensen|"
            "Knudsen|Jakobsen|Mikkelsen|Frederiksen|Bach|Holm|Lund|Dahl|Kjær|Vestergaard"
        ),
        streets=_l(
            "Vestergade|Østergade|Nørregade|Søndergade|Algade|Strandvejen|Kirkevej|Skovvej|Bredgade|"
            "Havnegade|Torvet|Ringvej|Møllevej|Engvej|Birkevej|Bøgevej|Rosenvej|Skolevej|"
            "Stationsvej|Nyvej|Kongensgade|Åboulevarden|Vesterbrogade|Frederiksberg Allé"
        ),
        cities=_l(
            "København|Aarhus|Odense|Aalborg|Esbjerg|Randers|Kolding|Horsens|Vejle|Roskilde|Herning|"
            "Silkeborg|Næstved|Fredericia|Viborg|Køge|Holstebro|Taastrup|Slagelse|Hillerød|"
            "Sønderborg|Svendborg|Hjørring|Frederikshavn|Nørresundby|Ringsted|Ølstykke|Brøndby"
        ),
        states=_l("Hovedstaden|Sjælland|Syddanmark|Midtjylland|Nordjylland"),
        long_streets=_l(
            "Kongelige Kammermusiker Frederik Christian Schønbergs Allé|"
            "Sankt Hans Torv ved Østre Anlæg og Ørestads Boulevard"
        ),
        long_cities=_l("Ølsted-Skævinge-Gørløse Stationsby|Kværndrup-Ringe-Årslev Kommunefællesskab"),
        phone=_phone_pattern("########"),
        cell=_phone_pattern("########"),
        postcode=_pc_int(1000, 9999),
        id_value=_id_cpr,
    ),
    "ES": _NatData(
        male=_l(
            "Antonio|José|Manuel|Francisco|David|Juan|Javier|Daniel|Carlos|Jesús|Alejandro|Miguel|"
            "Rafael|Pablo|Sergio|Fernando|Jorge|Alberto|Álvaro|Adrián|Iván|Rubén|Óscar|Íñigo"
        ),
        female=_l(
            "María|Carmen|Ana|Isabel|Laura|Cristina|Marta|Lucía|Elena|Paula|Sara|Raquel|Pilar|Nuria|"
            "Rocío|Alba|Irene|Beatriz|Claudia|Noelia|Inés|Ángela|Verónica|Begoña"
        ),
        last=_l(
            "García|Rodríguez|González|Fernández|López|Martínez|Sánchez|Pérez|Gómez|Martín|Jiménez|"
            "Ruiz|Hernández|Díaz|Moreno|Muñoz|Álvarez|Romero|Alonso|Gutiérrez|Navarro|Torres|"
            "Domínguez|Vázquez|Ramos|Gil|Ramírez|Serrano|Blanco|Molina|Ibáñez|Castillo"
        ),
        streets=_l(
            "Calle Mayor|Calle Real|Avenida de la Constitución|Calle de Alcalá|Gran Vía|Calle del Sol|"
            "Paseo de la Castellana|Calle de Toledo|Plaza de España|Calle Nueva|Calle de la Iglesia|"
            "Avenida de Andalucía|Calle del Carmen|Calle de Cervantes|Calle de Goya|Calle de Atocha|"
            "Calle de la Paz|Ronda de Valencia|Calle San José|Calle de Bailén|Avenida de Castilla"
        ),
        cities=_l(
            "Madrid|Barcelona|Valencia|Sevilla|Zaragoza|Málaga|Murcia|Palma de Mallorca|"
            "Las Palmas de Gran Canaria|Bilbao|Alicante|Córdoba|Valladolid|Vigo|Gijón|"
            "Hospitalet de Llobregat|Vitoria|A Coruña|Granada|Elche|Oviedo|Badalona|Cartagena|"
            "Terrassa|Jerez de la Frontera|Pamplona|Almería|Santander|Salamanca|Cáceres|Ávila"
        ),
        states=_l(
            "Andalucía|Aragón|Asturias|Islas Baleares|Canarias|Cantabria|Castilla y León|"
            "Castilla-La Mancha|Cataluña|Comunidad Valenciana|Extremadura|Galicia|La Rioja|"
            "Comunidad de Madrid|Región de Murcia|Navarra|País Vasco|Ceuta|Melilla"
        ),
        long_streets=_l(
            "Avenida de los Reyes Católicos Fernando e Isabel esquina Calle del Marqués|"
            "Calle del Doctor Fernández de la Peña y Martínez de Ubago"
        ),
        long_cities=_l(
            "San Bartolomé de Tirajana y Santa Lucía de Tirajana|"
            "Villafranca de los Caballeros de la Mancha Alta"
        ),
        phone=_phone_pattern("9##-###-###"),
        cell=_phone_pattern("6##-###-###"),
        postcode=_pc_int(10000, 52999),
        id_value=_id_dni,
    ),
    "FI": _NatData(
        male=_l(
            "Juho|Eetu|Onni|Elias|Leo|Eino|Väinö|Oliver|Aleksi|Veeti|Niko|Jere|Matti|Pekka|Jukka|Mikko|"
            "Timo|Kari|Antti|Lauri|Ville|Joni|Sami|Tuomas"
        ),
        female=_l(
            "Aino|Eevi|Sofia|Helmi|Aada|Ella|Venla|Emilia|Iida|Pihla|Veera|Siiri|Anni|Laura|Johanna|"
            "Tiina|Sanna|Riikka|Päivi|Minna|Satu|Heidi|Nelli|Kerttu"
        ),
        last=_l(
            "Korhonen|Virtanen|Mäkinen|Nieminen|Mäkelä|Hämäläinen|Laine|Heikkinen|Koskinen|Järvinen|"
            "Lehtonen|Lehtinen|Saarinen|Salminen|Heinonen|Niemi|Heikkilä|Kinnunen|Salonen|Turunen|"
            "Salo|Laitinen|Tuominen|Rantanen|Karjalainen|Jokinen|Mattila|Savolainen|Lahtinen|Ahonen"
        ),
        streets=_l(
            "Hämeenkatu|Mannerheimintie|Aleksanterinkatu|Esplanadi|Pispalan Valtatie|Rautatienkatu|"
            "Satakunnankatu|Tehtaankatu|Otavalankatu|Pyynikintie|Hatanpään Valtatie|Kauppakatu|"
            "Verkatehtaankatu|Nordenskiöldinkatu|Itsenäisyydenkatu|Suvantokatu|Tullikatu|"
            "Kalevantie|Mechelininkatu|Siilitie|Koulukatu|Puistokatu|Rantatie"
        ),
        cities=_l(
            "Helsinki|Espoo|Tampere|Vantaa|Oulu|Turku|Jyväskylä|Lahti|Kuopio|Pori|Kouvola|Joensuu|"
            "Lappeenranta|Hämeenlinna|Vaasa|Seinäjoki|Rovaniemi|Mikkeli|Kotka|Salo|Porvoo|Kokkola|"
            "Hyvinkää|Lohja|Järvenpää|Rauma|Kajaani|Kerava|Savonlinna|Nokia|Ylöjärvi|Närpiö"
        ),
        states=_l(
            "Uusimaa|Varsinais-Suomi|Satakunta|Kanta-Häme|Pirkanmaa|Päijät-Häme|Kymenlaakso|"
            "Etelä-Karjala|Etelä-Savo|Pohjois-Savo|Pohjois-Karjala|Keski-Suomi|Etelä-Pohjanmaa|"
            "Pohjanmaa|Keski-Pohjanmaa|Pohjois-Pohjanmaa|Kainuu|Lappi|Ahvenanmaa"
        ),
        long_streets=_l(
            "Lentokonesuihkuturbiinimoottoriapumekaanikkoaliupseerioppilaankatu|"
            "Ylä-Hämeenkyrön Pyhäjärvenrannan Kirkonkylän Vanhatie"
        ),
        long_cities=_l("Äteritsiputeritsipuolilautatsijänkä|Pyhäjärven Kirkonkylän Rautatieasema"),
        phone=_phone_pattern("0#-###-###"),
        cell=_phone_pattern("04#-###-##-##"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_hetu,
    ),
    "FR": _NatData(
        male=_l(
            "Lucas|Hugo|Louis|Gabriel|Arthur|Jules|Nathan|Théo|Raphaël|Mathis|Enzo|Maxime|Antoine|"
            "Baptiste|Clément|Quentin|Florian|Julien|Nicolas|Sébastien|Jérôme|Benoît|Loïc|Gaëtan|Noé|Timéo"
        ),
        female=_l(
            "Emma|Léa|Chloé|Manon|Camille|Inès|Jade|Louise|Zoé|Lola|Sarah|Juliette|Clémence|Mathilde|"
            "Océane|Margaux|Élise|Amandine|Aurélie|Céline|Nathalie|Sophie|Maëlys|Anaïs|Noémie|Héloïse"
        ),
        last=_l(
            "Martin|Bernard|Dubois|Thomas|Robert|Richard|Petit|Durand|Leroy|Moreau|Simon|Laurent|"
            "Lefebvre|Michel|Garcia|David|Bertrand|Roux|Vincent|Fournier|Morel|Girard|André|Lefèvre|"
            "Mercier|Dupont|Lambert|Bonnet|François|Legrand|Garnier|Faure|Rousseau|Blanc|Guérin|Perrin"
        ),
        streets=_l(
            "Rue de la République|Rue Victor-Hugo|Rue de Paris|Avenue Jean-Jaurès|Rue Pasteur|"
            "Place du Marché|Rue Nationale|Rue du Moulin|Boulevard Gambetta|Rue de l'Église|"
            "Rue des Écoles|Avenue de la Libération|Rue du Château|Rue Saint-Georges|Rue de la Gare|"
            "Place de la Mairie|Rue Paul-Bert|Rue des Jardins|Quai des Chartrons|Rue Principale"
        ),
        cities=_l(
            "Paris|Marseille|Lyon|Toulouse|Nice|Nantes|Strasbourg|Montpellier|Bordeaux|Lille|Rennes|"
            "Reims|Le Havre|Saint-Étienne|Toulon|Grenoble|Dijon|Angers|Nîmes|Villeurbanne|"
            "Clermont-Ferrand|Le Mans|Aix-en-Provence|Brest|Tours|Amiens|Limoges|Annecy|Perpignan|"
            "Boulogne-Billancourt|Metz|Besançon|Orléans|Rouen|Mulhouse|Caen|Nancy|Avignon|Créteil"
        ),
        states=_l(
            "Paris|Bouches-du-Rhône|Rhône|Haute-Garonne|Alpes-Maritimes|Loire-Atlantique|Bas-Rhin|"
            "Hérault|Gironde|Nord|Ille-et-Vilaine|Marne|Seine-Maritime|Loire|Var|Isère|Côte-d'Or|"
            "Maine-et-Loire|Gard|Puy-de-Dôme|Sarthe|Finistère|Indre-et-Loire|Somme|Haute-Vienne|"
            "Haute-Savoie|Pyrénées-Orientales|Moselle|Doubs|Loiret|Calvados|Meurthe-et-Moselle|"
            "Vaucluse|Val-de-Marne|Seine-Saint-Denis|Hauts-de-Seine|Yvelines|Essonne|Val-d'Oise"
        ),
        long_streets=_l(
            "Rue du Général-Charles-de-Gaulle-et-des-Anciens-Combattants-d'Afrique-du-Nord|"
            "Avenue du Maréchal-de-Lattre-de-Tassigny Prolongée"
        ),
        long_cities=_l(
            "Saint-Remy-en-Bouzemont-Saint-Genest-et-Isson|Aulnay-sous-Bois-lès-Pavillons-sur-Marne"
        ),
        phone=_phone_fr,
        cell=_phone_pattern("06-##-##-##-##"),
        postcode=_pc_int(10000, 95999),
        id_value=_id_insee,
    ),
    "GB": _NatData(
        male=_l(
            "Oliver|George|Harry|Jack|Jacob|Charlie|Thomas|Oscar|William|James|Alfie|Archie|Joshua|"
            "Freddie|Henry|Leo|Alexander|Harrison|Daniel|Samuel|Callum|Rhys|Connor|Ewan|Hamish|Dylan"
        ),
        female=_l(
            "Olivia|Amelia|Isla|Ava|Emily|Sophie|Grace|Mia|Poppy|Ella|Lily|Evie|Isabelle|Jessica|Freya|"
            "Ruby|Chloe|Charlotte|Holly|Megan|Eleanor|Niamh|Sian|Rhiannon|Kirsty|Bethany"
        ),
        last=_l(
            "Smith|Jones|Taylor|Brown|Williams|Wilson|Johnson|Davies|Robinson|Wright|Thompson|Evans|"
            "Walker|White|Roberts|Green|Hall|Wood|Jackson|Clarke|Hughes|Edwards|Turner|Lewis|Harris|"
            "Morgan|Cooper|Ward|Morris|Hill|Patel|Khan|Campbell|Stewart|MacLeod|Griffiths|Lloyd|Price"
        ),
        streets=_l(
            "High Street|Station Road|Main Street|Park Road|Church Road|Church Street|London Road|"
            "Victoria Road|Green Lane|Manor Road|Church Lane|Park Avenue|The Avenue|The Crescent|"
            "Queens Road|New Road|Grange Road|Kings Road|Highfield Road|Mill Lane|York Road|"
            "Springfield Road|Stanley Road|Chester Road|North Street|Windsor Road|Albert Road"
        ),
        cities=_l(
            "London|Birmingham|Manchester|Leeds|Glasgow|Liverpool|Newcastle upon Tyne|Sheffield|"
            "Bristol|Edinburgh|Leicester|Coventry|Bradford|Cardiff|Belfast|Nottingham|"
            "Kingston upon Hull|Stoke-on-Trent|Southampton|Derby|Portsmouth|Brighton and Hove|"
            "Plymouth|Reading|Aberdeen|"
            "Swansea|Dundee|York|Cambridge|Oxford|Exeter|Bath|Chester|Inverness|Lincoln|Truro|Wells"
        ),
        states=_l(
            "Greater London|West Midlands|Greater Manchester|West Yorkshire|Merseyside|South Yorkshire|"
            "Tyne and Wear|Kent|Essex|Hampshire|Lancashire|Surrey|Hertfordshire|Norfolk|Suffolk|"
            "Devon|Cornwall|Somerset|Dorset|Cumbria|Lincolnshire|Oxfordshire|Cambridgeshire|"
            "Wiltshire|North Yorkshire|Gloucestershire|Fife|Highland|Lothian|Grampian|Tayside|"
            "Dyfed|Gwynedd|Powys|County Antrim|County Down"
        ),
        long_streets=_l(
            "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch Station Approach|"
            "Lower Little Sodbury Lane by the Old Coaching Inn"
        ),
        long_cities=_l(
            "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch|Sutton-under-Whitestonecliffe"
        ),
        phone=_phone_pattern("01### ######"),
        cell=_phone_pattern("07### ######"),
        postcode=_pc_gb,
        id_value=_id_nino,
    ),
    "IE": _NatData(
        male=_l(
            "Seán|Conor|Jack|Cian|Oisín|Darragh|Patrick|Liam|Aidan|Ciarán|Eoin|Niall|Cathal|Fionn|Tadhg|"
            "Ronan|Declan|Pádraig|Diarmuid|Colm|Brendan|Kevin|Shane|Dónal"
        ),
        female=_l(
            "Aoife|Siobhán|Niamh|Saoirse|Ciara|Caoimhe|Róisín|Sinéad|Emer|Orla|Gráinne|Clodagh|Áine|"
            "Aisling|Éabha|Méabh|Deirdre|Maeve|Fiadh|Sadhbh|Nuala|Bríd|Mairéad|Eimear"
        ),
        last=_l(
            "Murphy|Kelly|O'Sullivan|Walsh|Smith|O'Brien|Byrne|Ryan|O'Connor|O'Neill|O'Reilly|Doyle|"
            "McCarthy|Gallagher|Kennedy|Lynch|Murray|Quinn|Moore|McLoughlin|Carroll|Connolly|Daly|"
            "Dunne|Brennan|Burke|Collins|Fitzgerald|Maguire|Nolan|Flynn|Duffy|Boyle|Healy"
        ),
        streets=_l(
            "Main Street|Church Street|O'Connell Street|Grafton Street|Patrick Street|Shop Street|"
            "Dame Street|Henry Street|Abbey Street|Castle Street|Mill Road|Station Road|Bridge Street|"
            "Parnell Street|Pearse Street|Sráid an Mhuilinn|Bóthar na Trá|New Road|Green Street|"
            "Strand Road|Quay Street|Cathedral Road"
        ),
        cities=_l(
            "Dublin|Cork|Limerick|Galway|Waterford|Drogheda|Dundalk|Swords|Bray|Navan|Kilkenny|Ennis|"
            "Carlow|Tralee|Newbridge|Portlaoise|Naas|Athlone|Mullingar|Wexford|Letterkenny|Sligo|"
            "Clonmel|Greystones|Malahide|Tullamore|Killarney|Arklow|Cobh|Castlebar|Dingle"
        ),
        states=_l(
            "Dublin|Cork|Galway|Limerick|Waterford|Kerry|Clare|Tipperary|Kilkenny|Wexford|Wicklow|"
            "Kildare|Meath|Louth|Westmeath|Offaly|Laois|Carlow|Longford|Roscommon|Sligo|Leitrim|Mayo|"
            "Donegal|Cavan|Monaghan"
        ),
        long_streets=_l(
            "Bóthar Mhic Dhiarmada agus Sráid Uí Chonaill Íochtarach|"
            "Lower Baggot Street by the Grand Canal Lock Keeper's Cottage"
        ),
        long_cities=_l("Baile Átha Cliath Theas agus Dún Laoghaire|Muileann gCearr na Mí Iarthaí"),
        phone=_phone_pattern("0##-###-####"),
        cell=_phone_pattern("08#-###-####"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_pattern("#######A"),
    ),
    "IN": _NatData(
        male=_l(
            "Aarav|Vivaan|Aditya|Vihaan|Arjun|Sai|Reyansh|Krishna|Ishaan|Rohan|Rahul|Amit|Vikram|Sanjay|"
            "Rajesh|Suresh|Anil|Deepak|Manoj|Kiran|Harish|Siddharth|Pranav|Varun|Nikhil|Yash"
        ),
        female=_l(
            "Aadhya|Ananya|Diya|Saanvi|Pari|Anika|Navya|Myra|Priya|Pooja|Neha|Sneha|Kavya|Divya|Shreya|"
            "Anjali|Lakshmi|Meera|Sunita|Asha|Rekha|Nandini|Ishita|Tanvi|Riya|Swati"
        ),
        last=_l(
            "Sharma|Verma|Gupta|Singh|Kumar|Patel|Shah|Mehta|Joshi|Reddy|Rao|Nair|Menon|Iyer|Pillai|Das|"
            "Chatterjee|Banerjee|Mukherjee|Bose|Ghosh|Kapoor|Malhotra|Khanna|Chopra|Agarwal|Bansal|Jain|"
            "Saxena|Mishra|Pandey|Tiwari|Yadav|Naidu|Shetty|Kulkarni|Deshmukh|Pawar|Bhat|Hegde"
        ),
        streets=_l(
            "MG Road|Station Road|Gandhi Road|Nehru Road|Park Street|Brigade Road|Linking Road|"
            "Anna Salai|Ring Road|Mall Road|Church Street|Residency Road|Market Road|Temple Street|"
            "College Road|Civil Lines|Janpath|Carter Road|Hill Road|Tilak Road|Subhash Marg|"
            "Sardar Patel Road"
        ),
        cities=_l(
            "Mumbai|Delhi|Bengaluru|Hyderabad|Ahmedabad|Chennai|Kolkata|Surat|Pune|Jaipur|Lucknow|"
            "Kanpur|Nagpur|Indore|Thane|Bhopal|Visakhapatnam|Patna|Vadodara|Ludhiana|Agra|Nashik|"
            "Rajkot|Varanasi|Srinagar|Amritsar|Ranchi|Coimbatore|Madurai|Kochi|Mysuru|Dehradun"
        ),
        states=_l(
            "Maharashtra|Delhi|Karnataka|Telangana|Gujarat|Tamil Nadu|West Bengal|Rajasthan|"
            "Uttar Pradesh|Madhya Pradesh|Andhra Pradesh|Bihar|Punjab|Haryana|Kerala|Odisha|Jharkhand|"
            "Assam|Chhattisgarh|Uttarakhand|Himachal Pradesh|Jammu and Kashmir|Goa|Tripura|Meghalaya|"
            "Manipur|Nagaland|Sikkim|Mizoram|Arunachal Pradesh|Chandigarh|Puducherry"
        ),
        long_streets=_l(
            "Netaji Subhas Chandra Bose Marg Extension near Lal Bahadur Shastri Stadium|"
            "Dr. Sarvepalli Radhakrishnan Salai Second Cross Street"
        ),
        long_cities=_l("Thiruvananthapuram Technopark Phase Three|Venkatanarasimharajuvaripeta"),
        phone=_phone_in,
        cell=_phone_in,
        postcode=_pc_int(10000, 99999),
        id_value=_id_pattern("############"),
    ),
    "IR": _NatData(
        male=_l(
            "محمد|علی|حسین|رضا|مهدی|امیر|حسن|سینا|آرش|کیان|پارسا|یاسین|امیرحسین|محمدرضا|علیرضا|عرفان|"
            "پرهام|نیما|بردیا|کوروش|آرسین|ماهان|سپهر|رادین"
        ),
        female=_l(
            "فاطمه|زهرا|مریم|سارا|نرگس|الناز|نازنین|هستی|یسنا|آیدا|مهسا|ترانه|پریا|نیلوفر|ستایش|رها|"
            "کیمیا|شیوا|بهار|سوگند|آوا|باران|مهدیس|پرنیان"
        ),
        last=_l(
            "محمدی|حسینی|احمدی|رضایی|کریمی|موسوی|جعفری|صادقی|رحیمی|کاظمی|هاشمی|قاسمی|نوری|سلطانی|زارعی|"
            "عباسی|یزدانی|مرادی|شریفی|فراهانی|کامروا|نظری|سهیلی|پارسا"
        ),
        streets=_l(
            "شهید بهشتی|ولیعصر|آزادی|انقلاب|امام خمینی|کارگر|شریعتی|دکتر فاطمی|میرداماد|ستارخان|"
            "جمهوری|پاسداران|فرشته|نیاوران|مطهری|طالقانی|کریمخان زند|هفده شهریور|میدان امام|"
            "شهید رجایی"
        ),
        cities=_l(
            "تهران|مشهد|اصفهان|کرج|شیراز|تبریز|قم|اهواز|کرمانشاه|ارومیه|رشت|زاهدان|کرمان|همدان|یزد|"
            "اردبیل|بندرعباس|اراک|زنجان|سنندج|قزوین|خرم‌آباد|گرگان|ساری|ساوه|کاشان"
        ),
        states=_l(
            "تهران|خراسان رضوی|اصفهان|فارس|آذربایجان شرقی|خوزستان|البرز|قم|کرمانشاه|آذربایجان غربی|"
            "سیستان و بلوچستان|کرمان|گیلان|مازندران|همدان|یزد|اردبیل|هرمزگان|مرکزی|کردستان|قزوین|"
            "لرستان|گلستان|زنجان"
        ),
        long_streets=_l(
            "بلوار شهید دکتر مصطفی چمران شمالی نرسیده به میدان آزادی|"
            "خیابان شهید آیت‌الله دکتر سید محمد حسینی بهشتی کوچه شانزدهم"
        ),
        long_cities=_l("شهرک صنعتی شهید رجایی بندرعباس|کهگیلویه و بویراحمد مرکزی"),
        phone=_phone_pattern("0##-########"),
        cell=_phone_pattern("09##-###-####"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_null,
    ),
    "MX": _NatData(
        male=_l(
            "José|Juan|Luis|Carlos|Jorge|Miguel|Alejandro|Francisco|Jesús|Fernando|Ricardo|Eduardo|"
            "Roberto|Javier|Arturo|Sergio|Raúl|Armando|Rubén|Héctor|Emiliano|Santiago|Mateo|Diego"
        ),
        female=_l(
            "María|Guadalupe|Juana|Verónica|Leticia|Rosa|Alejandra|Patricia|Gabriela|Adriana|Claudia|"
            "Elizabeth|Daniela|Fernanda|Ximena|Valeria|Regina|Renata|Sofía|Camila|Itzel|Xóchitl|"
            "Citlali|Yolanda"
        ),
        last=_l(
            "Hernández|García|Martínez|López|González|Pérez|Rodríguez|Sánchez|Ramírez|Cruz|Flores|Gómez|"
            "Morales|Vázquez|Reyes|Jiménez|Torres|Díaz|Gutiérrez|Ruiz|Mendoza|Aguilar|Ortiz|Moreno|"
            "Castillo|Romero|Álvarez|Méndez|Chávez|Rivera|Juárez|Ramos|Domínguez|Herrera|Medina"
        ),
        streets=_l(
            "Avenida Insurgentes|Calle Reforma|Avenida Juárez|Calle Hidalgo|Calle Morelos|"
            "Avenida Revolución|Calle Madero|Calle Zaragoza|Calle Allende|Avenida Universidad|"
            "Calle Guerrero|Calle 5 de Mayo|Calle 16 de Septiembre|Privada Los Pinos|"
            "Cerrada de las Flores|Calle Benito Juárez|Avenida Constituyentes|Calle Independencia|"
            "Calle Aldama|Avenida Vallarta|Periférico Sur|Calzada de Tlalpan"
        ),
        cities=_l(
            "Ciudad de México|Guadalajara|Monterrey|Puebla|Tijuana|León|Ciudad Juárez|Zapopan|Mérida|"
            "San Luis Potosí|Aguascalientes|Hermosillo|Saltillo|Mexicali|Culiacán|Querétaro|Morelia|"
            "Chihuahua|Cancún|Toluca|Torreón|Veracruz|Xalapa|Oaxaca de Juárez|Tuxtla Gutiérrez|"
            "Villahermosa|Durango|Tampico|Mazatlán|Campeche|Colima|Tepic|Zacatecas|Cuernavaca"
        ),
        states=_l(
            "Aguascalientes|Baja California|Baja California Sur|Campeche|Chiapas|Chihuahua|"
            "Ciudad de México|Coahuila|Colima|Durango|Guanajuato|Guerrero|Hidalgo|Jalisco|"
            "Estado de México|Michoacán|Morelos|Nayarit|Nuevo León|Oaxaca|Puebla|Querétaro|"
            "Quintana Roo|San Luis Potosí|Sinaloa|Sonora|Tabasco|Tamaulipas|Tlaxcala|Veracruz|Yucatán|"
            "Zacatecas"
        ),
        long_streets=_l(
            "Avenida Licenciado Adolfo López Mateos Poniente esquina Calzada Independencia|"
            "Prolongación Paseo de los Héroes de la Revolución Mexicana"
        ),
        long_cities=_l(
            "San Pedro Tlaquepaque de los Altos de Jalisco|Dolores Hidalgo Cuna de la Independencia Nacional"
        ),
        phone=_phone_pattern("(6##) ### ####"),
        cell=_phone_pattern("(6##) ### ####"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_pattern("## ## ## #### #"),
    ),
    "NL": _NatData(
        male=_l(
            "Daan|Sem|Lucas|Levi|Finn|Milan|Jesse|Luuk|Bram|Thijs|Noud|Ruben|Stijn|Jeroen|Bas|Maarten|"
            "Pieter|Joost|Wouter|Sjoerd|Hendrik|Gerrit|Teun|Jurre"
        ),
        female=_l(
            "Emma|Julia|Sophie|Tess|Zoë|Fenna|Sara|Evi|Lotte|Anna|Eva|Femke|Sanne|Anouk|Lieke|Marloes|"
            "Ilse|Floor|Noor|Roos|Ineke|Willemijn|Mieke|Jantine"
        ),
        last=_l(
            "de Jong|Jansen|de Vries|van den Berg|van Dijk|Bakker|Janssen|Visser|Smit|Meijer|de Boer|"
            "Mulder|de Groot|Bos|Vos|Peters|Hendriks|van Leeuwen|Dekker|Brouwer|de Wit|Dijkstra|Smits|"
            "de Graaf|van der Meer|van der Linden|Kok|Jacobs|de Haan|Vermeulen|van den Heuvel|Prins"
        ),
        streets=_l(
            "Hoofdstraat|Kerkstraat|Dorpsstraat|Schoolstraat|Molenstraat|Stationsweg|Julianastraat|"
            "Beatrixstraat|Wilhelminastraat|Nieuwstraat|Marktstraat|Kerkweg|Prinses Irenestraat|"
            "Oranjestraat|Parallelweg|Emmastraat|Industrieweg|Brink|Singel|Keizersgracht|"
            "Herengracht|Prinsengracht|Vondelstraat|Lijnbaan|Coolsingel|Lange Voorhout"
        ),
        cities=_l(
            "Amsterdam|Rotterdam|Den Haag|Utrecht|Eindhoven|Groningen|Tilburg|Almere|Breda|Nijmegen|"
            "Apeldoorn|Haarlem|Arnhem|Enschede|Amersfoort|Zaanstad|'s-Hertogenbosch|Zwolle|"
            "Zoetermeer|Leiden|Maastricht|Dordrecht|Ede|Alphen aan den Rijn|Leeuwarden|Alkmaar|"
            "Emmen|Delft|Venlo|Deventer|Helmond|Hilversum|Middelburg|Assen|Lelystad|Gouda"
        ),
        states=_l(
            "Groningen|Friesland|Drenthe|Overijssel|Flevoland|Gelderland|Utrecht|Noord-Holland|"
            "Zuid-Holland|Zeeland|Noord-Brabant|Limburg"
        ),
        long_streets=_l(
            "Burgemeester van Karnebeek-Ruijs de Beerenbroucklaan|"
            "Prins Willem-Alexander en Prinses Máxima Boulevard Noordzijde"
        ),
        long_cities=_l("Westerhaar-Vriezenveensewijk aan de Overijsselse Vecht|Gasselterboerveenschemond"),
        phone=_phone_pattern("(0##) #######"),
        cell=_phone_pattern("(06) ########"),
        postcode=_pc_nl,
        id_value=_id_bsn,
    ),
    "NO": _NatData(
        male=_l(
            "Jakob|Emil|Noah|Oliver|Filip|William|Lucas|Liam|Henrik|Oskar|Aksel|Theodor|Magnus|Elias|"
            "Isak|Sander|Tobias|Mathias|Håkon|Ole|Lars|Bjørn|Knut|Eirik|Sindre|Øyvind|Ørjan|Stian"
        ),
        female=_l(
            "Nora|Emma|Ella|Maja|Olivia|Sofie|Ingrid|Leah|Sara|Astrid|Frida|Hedda|Thea|Selma|Tiril|"
            "Aurora|Ida|Kari|Ingeborg|Sigrid|Solveig|Marit|Åse|Ragnhild|Live|Synnøve"
        ),
        last=_l(
            "Hansen|Johansen|Olsen|Larsen|Andersen|Pedersen|Nilsen|Kristiansen|Jensen|Karlsen|Johnsen|"
            "Pettersen|Eriksen|Berg|Haugen|Hagen|Johannessen|Andreassen|Jacobsen|Dahl|Jørgensen|"
            "Halvorsen|Henriksen|Lund|Sørensen|Moen|Gundersen|Iversen|Strand|Solberg|Nygård|Sæther|"
            "Rønning|Næss|Ødegård|Bøe|Strøm"
        ),
        streets=_l(
            "Storgata|Kirkegata|Kongens gate|Dronningens gate|Karl Johans gate|Parkveien|Skolegata|"
            "Jernbanegata|Strandgata|Torggata|Bogstadveien|Thorvald Meyers gate|Grensen|"
            "Nedre Slottsgate|Bygdøy allé|Sognsveien|Trondheimsveien|Fjellveien|Skogveien|Solveien|"
            "Bjørnstjerne Bjørnsons gate|Holmenkollveien|Hegdehaugsveien|Sørkedalsveien"
        ),
        cities=_l(
            "Oslo|Bergen|Trondheim|Stavanger|Bærum|Kristiansand|Fredrikstad|Sandnes|Tromsø|Drammen|"
            "Asker|Lillestrøm|Sarpsborg|Skien|Ålesund|Sandefjord|Haugesund|Tønsberg|Moss|Bodø|"
            "Arendal|Hamar|Larvik|Halden|Lillehammer|Molde|Harstad|Gjøvik|Kongsberg|Narvik|Alta|"
            "Førde|Stjørdal|Steinkjer|Hønefoss|Elverum|Mo i Rana|Vadsø|Hammerfest"
        ),
        states=_l(
            "Østfold|Akershus|Oslo|Hedmark|Oppland|Buskerud|Vestfold|Telemark|Aust-Agder|Vest-Agder|"
            "Rogaland|Hordaland|Sogn og Fjordane|Møre og Romsdal|Sør-Trøndelag|Nord-Trøndelag|"
            "Nordland|Troms|Finnmark"
        ),
        long_streets=_l(
            "Kong Haakon den Syvendes og Dronning Mauds gate ved Slottsparken|"
            "Øvre Ullern terrasse mellom Smestaddammen og Sørkedalsveien"
        ),
        long_cities=_l("Fjellstrand på Nesodden ved Bunnefjorden|Porsanger Porsáŋgu Porsanki"),
        phone=_phone_pattern("########"),
        cell=_phone_no_cell,
        postcode=_pc_no,
        id_value=_id_fn,
    ),
    "NZ": _NatData(
        male=_l(
            "Oliver|Jack|Noah|Leo|George|Charlie|Lucas|William|Hunter|Thomas|James|Mason|Tama|Wiremu|"
            "Nikau|Ari|Manaia|Rawiri|Hemi|Tane|Mikaere|Ethan|Hamish|Cooper"
        ),
        female=_l(
            "Isla|Charlotte|Olivia|Amelia|Ava|Mia|Harper|Willow|Aria|Ruby|Ella|Sophie|Aroha|Mere|"
            "Anahera|Kaia|Maia|Ngaio|Hana|Te Aroha|Georgia|Lily|Zoe|Ataahua"
        ),
        last=_l(
            "Smith|Williams|Wilson|Brown|Taylor|Jones|Anderson|Thompson|Walker|Harris|Martin|Campbell|"
            "King|Robinson|Clark|White|Hall|Young|Mitchell|Ngata|Parata|Tipene|Kereama|Te Whata|"
            "Ruatapu|Hohaia|Tamihana|Rangi|Morgan|Stewart|Davis|Lee|Chen|Singh|Patel|Wright|Scott"
        ),
        streets=_l(
            "Queen Street|Karangahape Road|Ponsonby Road|Dominion Road|Great North Road|Lambton Quay|"
            "Cuba Street|Willis Street|Colombo Street|Riccarton Road|George Street|Princes Street|"
            "Victoria Street|Devon Street|Taranaki Street|Tory Street|Hobson Street|Symonds Street|"
            "Manukau Road|Remuera Road|Tinakori Road|Oriental Parade|Marine Parade|Te Atatu Road"
        ),
        cities=_l(
            "Auckland|Wellington|Christchurch|Hamilton|Tauranga|Lower Hutt|Dunedin|Palmerston North|"
            "Napier|Porirua|New Plymouth|Rotorua|Whangarei|Nelson|Hastings|Invercargill|Upper Hutt|"
            "Whanganui|Gisborne|Blenheim|Pukekohe|Timaru|Taupo|Masterton|Levin|Ashburton|"
            "Te Awamutu|Queenstown|Oamaru|Greymouth|Kaikōura|Whakatāne"
        ),
        states=_l(
            "Auckland|Wellington|Canterbury|Waikato|Bay of Plenty|Otago|Manawatu-Wanganui|Hawke's Bay|"
            "Northland|Taranaki|Southland|Nelson|Marlborough|Tasman|Gisborne|West Coast"
        ),
        long_streets=_l(
            "Taumatawhakatangihangakoauauotamateaturipukakapikimaungahoronukupokaiwhenuakitanatahu"
            " Road|"
            "Whakatāne to Ōhope Beach Scenic Coastal Highway"
        ),
        long_cities=_l(
            "Taumatawhakatangihangakoauauotamateaturipukakapikimaungahoronukupokaiwhenuakitanatahu|"
            "Mangawhero Ōtaki Kāpiti Coast Rural Settlement"
        ),
        phone=_phone_pattern("(###)-###-####"),
        cell=_phone_pattern("(###)-###-####"),
        postcode=_pc_int(1000, 9999),
        id_value=_id_null,
    ),
    "RS": _NatData(
        male=_l(
            "Александар|Бојан|Вук|Горан|Драган|Ђорђе|Душан|Жарко|Зоран|Иван|Јован|Лазар|Милан|Милош|"
            "Небојша|Никола|Павле|Петар|Радован|Срђан|Стефан|Урош|Филип|Вељко"
        ),
        female=_l(
            "Ана|Бојана|Валентина|Гордана|Драгана|Ђурђа|Јелена|Јована|Катарина|Љиљана|Марија|Милица|"
            "Наташа|Невена|Оливера|Сања|Снежана|Софија|Тамара|Теодора|Дуња|Весна"
        ),
        last=_l(
            "Јовановић|Петровић|Николић|Марковић|Ђорђевић|Стојановић|Илић|Станковић|Павловић|"
            "Милошевић|Ђурић|Стевановић|Томић|Костић|Пантић|Радовановић|Лазић|Живковић|Митровић|"
            "Вуковић|Шапоњић|Љубичић"
        ),
        streets=_l(
            "Kneza Miloša|Bulevar oslobođenja|Kralja Petra|Cara Dušana|Nemanjina|Vojvode Stepe|"
            "Takovska|Karađorđeva|Svetog Save|Njegoševa|Gospodar Jevremova|Bulevar kralja Aleksandra|"
            "Resavska|Žička|Hilandarska|Miloša Obilića|Ivana Milutinovića|Zmaj Jovina|Dositejeva|"
            "Mileševska|Jug Bogdanova|Šumadijska"
        ),
        cities=_l(
            "Beograd|Novi Sad|Niš|Kragujevac|Subotica|Zrenjanin|Pančevo|Čačak|Novi Pazar|Kraljevo|"
            "Smederevo|Leskovac|Valjevo|Kruševac|Vranje|Šabac|Užice|Sombor|Požarevac|Pirot|Zaječar|"
            "Kikinda|Sremska Mitrovica|Jagodina|Vršac|Bor|Prokuplje|Loznica|Aranđelovac|Ćuprija"
        ),
        states=_l(
            "Beograd|Južnobački|Nišavski|Šumadijski|Severnobački|Srednjebanatski|Južnobanatski|"
            "Moravički|Raški|Rasinski|Podunavski|Jablanički|Kolubarski|Pčinjski|Mačvanski|Zlatiborski|"
            "Zapadnobački|Braničevski|Pirotski|Zaječarski|Severnobanatski|Sremski|Pomoravski|Borski|"
            "Toplički"
        ),
        long_streets=_l(
            "Булевар краља Александра Карађорђевића и Војводе Живојина Мишића|"
            "Улица Васе Чарапића код Студентског трга и Капетан Мишиног здања"
        ),
        long_cities=_l("Сремски Карловци на Фрушкој гори|Бајина Башта на Дрини и Тари"),
        phone=_phone_rs,
        cell=_phone_pattern("06#-####-###"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_pattern("#########"),
    ),
    "TR": _NatData(
        male=_l(
            "Mehmet|Mustafa|Ahmet|Ali|Hüseyin|Hasan|İbrahim|İsmail|Osman|Yusuf|Murat|Ömer|Ramazan|Halil|"
            "Süleyman|Abdullah|Mahmut|Recep|Fatih|Emre|Burak|Kerem|Çağrı|Barış|Serkan|Oğuz"
        ),
        female=_l(
            "Fatma|Ayşe|Emine|Hatice|Zeynep|Elif|Meryem|Şerife|Sultan|Zehra|Hanife|Merve|Özlem|Esra|"
            "Büşra|Gül|Derya|Sevgi|Yasemin|Ebru|Tuğba|Şeyma|İrem|Çiğdem|Gülay|Nazlı"
        ),
        last=_l(
            "Yılmaz|Kaya|Demir|Şahin|Çelik|Yıldız|Yıldırım|Öztürk|Aydın|Özdemir|Arslan|Doğan|Kılıç|"
            "Aslan|Çetin|Kara|Koç|Kurt|Özkan|Şimşek|Polat|Özer|Korkmaz|Erdoğan|Çakır|Akın|Güneş|Tekin|"
            "Ünal|Bulut|Keskin|Avcı|Sönmez|Ekici|Tuna|Karaca|Eren|Uysal|Bozkurt"
        ),
        streets=_l(
            "Atatürk Cd|Cumhuriyet Cd|İstiklal Cd|Bağdat Cd|Fevzi Çakmak Cd|Mimar Sinan Cd|İnönü Cd|"
            "Gazi Mustafa Kemal Bulvarı|Kıbrıs Şehitleri Cd|Necatibey Cd|Vatan Cd|Millet Cd|"
            "Çiftlik Cd|Lale Sk|Menekşe Sk|Şehitler Cd|Anafartalar Cd|Barbaros Bulvarı|Esentepe Sk|"
            "Hürriyet Cd|Karanfil Sk|Okul Sk"
        ),
        cities=_l(
            "İstanbul|Ankara|İzmir|Bursa|Antalya|Adana|Konya|Gaziantep|Şanlıurfa|Kocaeli|Mersin|"
            "Diyarbakır|Hatay|Manisa|Kayseri|Samsun|Balıkesir|Kahramanmaraş|Van|Aydın|Denizli|"
            "Sakarya|Tekirdağ|Muğla|Eskişehir|Mardin|Trabzon|Malatya|Erzurum|Ordu|Afyonkarahisar|"
            "Sivas|Tokat|Elazığ|Zonguldak|Kütahya|Bolu|Çorum|Rize|Edirne|Çanakkale|Nevşehir|Iğdır"
        ),
        states=_l(
            "İstanbul|Ankara|İzmir|Bursa|Antalya|Adana|Konya|Gaziantep|Şanlıurfa|Kocaeli|Mersin|"
            "Diyarbakır|Hatay|Manisa|Kayseri|Samsun|Balıkesir|Kahramanmaraş|Van|Aydın|Denizli|"
            "Sakarya|Tekirdağ|Muğla|Eskişehir|Mardin|Trabzon|Malatya|Erzurum|Ordu|Sivas|Tokat|Elazığ"
        ),
        long_streets=_l(
            "Gazi Mustafa Kemal Atatürk Bulvarı Şehit Öğretmen Ayşe Gül Sokağı|"
            "Kıbrıs Şehitleri Caddesi Çamlıbel Mahallesi Güzelyalı Çıkmazı"
        ),
        long_cities=_l("Kahramanmaraş Onikişubat Büyükşehir Belediyesi|Afyonkarahisar Sandıklı Kaplıcaları"),
        phone=_phone_pattern("(###)-###-####"),
        cell=_phone_pattern("(###)-###-####"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_null,
    ),
    "UA": _NatData(
        male=_l(
            "Олександр|Андрій|Богдан|Василь|Дмитро|Євген|Іван|Максим|Микола|Олег|Петро|Роман|Сергій|"
            "Тарас|Юрій|Ярослав|Володимир|Віталій|Остап|Любомир|Святослав|Григорій"
        ),
        female=_l(
            "Олена|Ганна|Ірина|Катерина|Марія|Наталія|Оксана|Софія|Тетяна|Юлія|Людмила|Світлана|"
            "Дарина|Вікторія|Христина|Зоряна|Леся|Мирослава|Надія|Галина|Ярина|Злата"
        ),
        last=_l(
            "Шевченко|Коваленко|Бондаренко|Ткаченко|Кравченко|Олійник|Шевчук|Коваль|Поліщук|Бойко|"
            "Ткачук|Мельник|Лисенко|Руденко|Савченко|Петренко|Клименко|Марченко|Мороз|Павленко|"
            "Гнатюк|Федорович|Гончаренко|Яковенко"
        ),
        streets=_l(
            "Шевченка|Лесі Українки|Івана Франка|Грушевського|Хрещатик|Садова|Зелена|Миру|Центральна|"
            "Соборна|Незалежності|Вишнева|Лісова|Шкільна|Польова|Калинова|Гоголя|Сковороди|"
            "Коцюбинського|Мазепи"
        ),
        cities=_l(
            "Київ|Харків|Одеса|Дніпро|Львів|Запоріжжя|Кривий Ріг|Миколаїв|Вінниця|Херсон|Полтава|"
            "Чернігів|Черкаси|Житомир|Суми|Хмельницький|Чернівці|Рівне|Кропивницький|"
            "Івано-Франківськ|Тернопіль|Луцьк|Ужгород|Мелітополь|Кременчук|Ніжин"
        ),
        states=_l(
            "Київська|Харківська|Одеська|Дніпропетровська|Львівська|Запорізька|Миколаївська|"
            "Вінницька|Херсонська|Полтавська|Чернігівська|Черкаська|Житомирська|Сумська|Хмельницька|"
            "Чернівецька|Рівненська|Кіровоградська|Івано-Франківська|Тернопільська|Волинська|"
            "Закарпатська|Луганська|Донецька"
        ),
        long_streets=_l(
            "вулиця Незалежності та Соборності Української Держави|"
            "проспект Героїв Небесної Сотні біля Михайлівського собору"
        ),
        long_cities=_l("Кам'янець-Подільський над Смотричем|Білгород-Дністровський на лимані"),
        phone=_phone_ua,
        cell=_phone_ua,
        postcode=_pc_int(10000, 99999),
        id_value=_id_null,
    ),
    "US": _NatData(
        male=_l(
            "James|John|Robert|Michael|William|David|Richard|Joseph|Thomas|Charles|Christopher|Daniel|"
            "Matthew|Anthony|Mark|Donald|Steven|Paul|Andrew|Joshua|Kenneth|Kevin|Brian|George|Timothy|"
            "Ronald|Jason|Edward|Jeffrey|Ryan"
        ),
        female=_l(
            "Mary|Patricia|Jennifer|Linda|Elizabeth|Barbara|Susan|Jessica|Sarah|Karen|Lisa|Nancy|"
            "Betty|Margaret|Sandra|Ashley|Kimberly|Emily|Donna|Michelle|Carol|Amanda|Dorothy|Melissa|"
            "Deborah|Stephanie|Rebecca|Sharon|Laura|Cynthia"
        ),
        last=_l(
            "Smith|Johnson|Williams|Brown|Jones|Garcia|Miller|Davis|Rodriguez|Martinez|Hernandez|Lopez|"
            "Gonzalez|Wilson|Anderson|Thomas|Taylor|Moore|Jackson|Martin|Lee|Perez|Thompson|White|"
            "Harris|Sanchez|Clark|Ramirez|Lewis|Robinson|Walker|Young|Allen|King|Wright|Scott|Torres|"
            "Nguyen|Hill|Flores"
        ),
        streets=_l(
            "Main St|Oak St|Pine St|Maple Ave|Cedar St|Elm St|Washington Ave|Lake St|Hill St|"
            "Park Ave|Sunset Blvd|Lincoln St|Jackson St|Church St|Walnut St|Spring St|North St|"
            "Ridge Rd|Valley View Ln|Cherry St|Highland Ave|Railroad St|Mill Rd|Hickory Creek Dr|"
            "Country Club Rd|Fairview St|Prospect Ave|Adams St|Franklin Ave"
        ),
        cities=_l(
            "New York|Los Angeles|Chicago|Houston|Phoenix|Philadelphia|San Antonio|San Diego|Dallas|"
            "San Jose|Austin|Jacksonville|Fort Worth|Columbus|Charlotte|Indianapolis|Seattle|Denver|"
            "Boston|El Paso|Nashville|Detroit|Oklahoma City|Portland|Las Vegas|Memphis|Louisville|"
            "Baltimore|Milwaukee|Albuquerque|Tucson|Fresno|Sacramento|Atlanta|Omaha|Raleigh|Miami"
        ),
        states=_l(
            "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Georgia|"
            "Hawaii|Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|"
            "Massachusetts|Michigan|Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|"
            "New Hampshire|New Jersey|New Mexico|New York|North Carolina|North Dakota|Ohio|Oklahoma|"
            "Oregon|Pennsylvania|Rhode Island|South Carolina|South Dakota|Tennessee|Texas|Utah|"
            "Vermont|Virginia|Washington|West Virginia|Wisconsin|Wyoming"
        ),
        long_streets=_l(
            "Dr. Martin Luther King Jr. Memorial Boulevard Northeast Frontage Road|"
            "Old Chisholm Trail Historic Cattle Drive Farm to Market Road"
        ),
        long_cities=_l(
            "Lake Chargoggagoggmanchauggagoggchaubunagungamaugg|"
            "Winchester-on-the-Severn Township Municipal District"
        ),
        phone=_phone_pattern("(@##) @##-####"),
        cell=_phone_pattern("(@##) @##-####"),
        postcode=_pc_int(10000, 99999),
        id_value=_id_ssn,
    ),
}

_FR_CH_TITLES_F = ("Madame", "Mademoiselle")
_SALT_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_TITLES_F = ("Ms", "Mrs", "Miss")


# --------------------------------------------------------------------------- ASCII folding for emails
_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "ґ": "g",
    "д": "d",
    "ђ": "dj",
    "е": "e",
    "є": "ye",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "і": "i",
    "ї": "yi",
    "й": "y",
    "ј": "j",
    "к": "k",
    "л": "l",
    "љ": "lj",
    "м": "m",
    "н": "n",
    "њ": "nj",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "ћ": "c",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "џ": "dz",
    "ш": "sh",
    "щ": "shch",
    "ь": "",
    "ю": "yu",
    "я": "ya",
    "ы": "y",
    "э": "e",
    "ъ": "",
    "ё": "yo",
}
_PERSIAN = {
    "ا": "a",
    "آ": "a",
    "أ": "a",
    "إ": "e",
    "ب": "b",
    "پ": "p",
    "ت": "t",
    "ث": "s",
    "ج": "j",
    "چ": "ch",
    "ح": "h",
    "خ": "kh",
    "د": "d",
    "ذ": "z",
    "ر": "r",
    "ز": "z",
    "ژ": "zh",
    "س": "s",
    "ش": "sh",
    "ص": "s",
    "ض": "z",
    "ط": "t",
    "ظ": "z",
    "ع": "",
    "غ": "gh",
    "ف": "f",
    "ق": "gh",
    "ک": "k",
    "ك": "k",
    "گ": "g",
    "ل": "l",
    "م": "m",
    "ن": "n",
    "و": "v",
    "ه": "h",
    "ة": "h",
    "ی": "y",
    "ي": "y",
    "ئ": "y",
    "ء": "",
    "\u200c": "",
}
_LATIN_SPECIAL = {
    "ß": "ss",
    "æ": "ae",
    "ø": "o",
    "đ": "d",
    "ı": "i",
    "ł": "l",
    "œ": "oe",
    "þ": "th",
    "ð": "d",
    "ŋ": "n",
}
_EMAIL_OK = set("abcdefghijklmnopqrstuvwxyz0123456789.'-")


def _ascii_fold(text: str) -> str:
    """Lower-case ASCII transliteration (Latin diacritics, Cyrillic, Persian), spaces removed."""
    out = []
    for ch in text.lower():
        if ch in _CYRILLIC:
            out.append(_CYRILLIC[ch])
        elif ch in _PERSIAN:
            out.append(_PERSIAN[ch])
        elif ch in _LATIN_SPECIAL:
            out.append(_LATIN_SPECIAL[ch])
        else:
            out.append(ch)
    folded = unicodedata.normalize("NFKD", "".join(out))
    return "".join(c for c in folded if c in _EMAIL_OK)


# --------------------------------------------------------------------------- dates and ages
def parse_as_of(as_of: dt.date | dt.datetime | str | None) -> dt.date:
    """A processing date from a date, datetime, ``YYYY-MM-DD`` string or None (today, UTC)."""
    if as_of is None or as_of == "":
        return dt.datetime.now(dt.UTC).date()
    if isinstance(as_of, dt.datetime):
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(dt.UTC)
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    return dt.date.fromisoformat(str(as_of)[:10])


def age_on(birth: dt.date, as_of: dt.date) -> int:
    """Whole years between ``birth`` and ``as_of``; the birthday itself counts.

    Someone born on 29 February reaches their next year on 1 March in common years
    (and on 29 February in leap years).
    """
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def _shift_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb -> 28 Feb
        return d.replace(year=d.year + years, day=28)


def _youngest_with_age(as_of: dt.date, age: int) -> dt.date:
    """The latest birth date that is at least ``age`` years old on ``as_of``."""
    b = _shift_years(as_of, -age)
    while age_on(b, as_of) < age:
        b -= dt.timedelta(days=1)
    while age_on(b + dt.timedelta(days=1), as_of) >= age:
        b += dt.timedelta(days=1)
    return b


def _iso_ms(d: dt.date, seconds_of_day: int, ms: int) -> str:
    h, rem = divmod(seconds_of_day, 3600)
    m, s = divmod(rem, 60)
    return f"{d.isoformat()}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"


def dob_date(user: dict) -> dt.date:
    """The calendar date (UTC) of ``user["dob"]["date"]``."""
    return dt.date.fromisoformat(str(user["dob"]["date"])[:10])


def expected_outcome(user: dict, as_of: dt.date | str | None = None, min_age: int = 18) -> str:
    """``"stored"`` if the user is at least ``min_age`` on ``as_of``, else ``"filtered_minor"``.

    Plain Python (no Spark): tests use it to predict the counts the pipeline must reach.
    """
    return "stored" if age_on(dob_date(user), parse_as_of(as_of)) >= min_age else "filtered_minor"


# --------------------------------------------------------------------------- the generator
MINOR_EDGE_CASES = ("turns_18_tomorrow", "born_feb29_minor", "newborn")
ADULT_EDGE_CASES = ("turns_18_today", "born_feb29_adult")


def _rng_for(seed: object, page: int) -> random.Random:
    digest = hashlib.sha256(f"profilepipe-generator|{seed}|{page}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def _check_nats(nats: str | Iterable[str] | None) -> tuple[str, ...]:
    if nats is None or nats == "":
        return NATIONALITIES
    if isinstance(nats, str):
        nats = nats.split(",")
    out = tuple(n.strip().upper() for n in nats if n and n.strip())
    bad = [n for n in out if n not in COUNTRY_NAMES]
    if bad or not out:
        raise ValueError(f"unknown nationality code(s) {bad}; valid: {','.join(NATIONALITIES)}")
    return out


def _last_leap_feb29(on_or_before: dt.date) -> dt.date:
    y = on_or_before.year
    while True:
        try:
            d = dt.date(y, 2, 29)
        except ValueError:
            y -= 1
            continue
        if d <= on_or_before:
            return d
        y -= 1


def _edge_dob(kind: str, as_of: dt.date, rng: random.Random) -> dt.date:
    one = dt.timedelta(days=1)
    if kind == "turns_18_today":
        return _youngest_with_age(as_of, 18)
    if kind == "turns_18_tomorrow":
        # the oldest minor: reaches 18 on the next possible day
        return _youngest_with_age(as_of, 18) + one
    if kind == "newborn":
        return as_of - dt.timedelta(days=rng.randint(0, 30))
    if kind == "born_feb29_minor":
        d = _last_leap_feb29(as_of)
        while age_on(d, as_of) >= 18:  # cannot happen, kept for safety
            d = _last_leap_feb29(d.replace(year=d.year + 4))
        return d
    if kind == "born_feb29_adult":
        return _last_leap_feb29(_youngest_with_age(as_of, 18))
    raise ValueError(kind)


def _random_dob(rng: random.Random, as_of: dt.date, minor: bool) -> dt.date:
    if minor:  # 0..17 on as_of
        lo = _youngest_with_age(as_of, 18) + dt.timedelta(days=1)
        hi = as_of
    else:  # 18..80 on as_of
        lo = _youngest_with_age(as_of, 81) + dt.timedelta(days=1)
        hi = _youngest_with_age(as_of, 18)
    return dt.date.fromordinal(rng.randint(lo.toordinal(), hi.toordinal()))


def _roles(rng: random.Random, count: int, minor_share: float, long_share: float):
    if not 0.0 <= minor_share <= 1.0 or not 0.0 <= long_share <= 1.0:
        raise ValueError("minor_share and long_address_share must be between 0 and 1")
    n_minor = round(count * minor_share)
    n_long = round(count * long_share)
    minors = rng.sample(range(count), n_minor)
    longs = set(rng.sample(range(count), n_long))
    kinds: dict[int, str] = {}
    for i, kind in zip(minors, MINOR_EDGE_CASES, strict=False):
        kinds[i] = kind
    minor_set = set(minors)
    for i in minors[len(MINOR_EDGE_CASES) :]:
        kinds[i] = "minor"
    if n_minor and count - n_minor > 0:
        # adults next to the boundary, only when minors were asked for
        picks = []
        k = rng.randrange(count)
        while len(picks) < min(len(ADULT_EDGE_CASES), count - n_minor):
            if k not in minor_set and k not in picks:
                picks.append(k)
            k = (k + 1) % count
        for i, kind in zip(picks, ADULT_EDGE_CASES, strict=False):
            kinds[i] = kind
    return kinds, longs


def full_address(user: dict) -> str:
    """``"<number> <street>, <city>, <state>, <postcode>, <country>"`` of a v1.4 user."""
    loc = user["location"]
    return (
        f"{loc['street']['number']} {loc['street']['name']}, {loc['city']}, {loc['state']}, "
        f"{loc['postcode']}, {loc['country']}"
    )


def _make_user(rng: random.Random, nat: str, as_of: dt.date, kind: str, long_address: bool) -> dict:
    data = _NATS[nat]
    gender = "male" if rng.random() < 0.5 else "female"
    first = _pick(rng, data.male if gender == "male" else data.female)
    last = _pick(rng, data.last)
    if gender == "male":
        title = "Monsieur" if nat in ("FR", "CH") and rng.random() < 0.5 else "Mr"
    else:
        titles = _TITLES_F + _FR_CH_TITLES_F if nat in ("FR", "CH") else _TITLES_F
        title = _pick(rng, titles)

    street_number = rng.randint(1, 9999)
    street = _pick(rng, data.streets)
    city = _pick(rng, data.cities)
    state = _pick(rng, data.states)
    postcode = data.postcode(rng)
    if long_address:
        street = _pick(rng, data.long_streets)
        city = _pick(rng, data.long_cities)
        while (
            len(f"{street_number} {street}, {city}, {state}, {postcode}, {COUNTRY_NAMES[nat]}".encode())
            <= 100
        ):
            street = f"{street} {_pick(rng, data.streets)}"
    latitude = f"{rng.uniform(-90, 90):.4f}"
    longitude = f"{rng.uniform(-180, 180):.4f}"
    tz_offset, tz_desc = _pick(rng, _TIMEZONES)

    password = _pick(rng, _PASSWORDS)
    salt = "".join(rng.choices(_SALT_CHARS, k=8))
    salted = (password + salt).encode()
    user_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    username = f"{_pick(rng, _USER_ADJ)}{_pick(rng, _USER_NOUN)}{rng.randint(100, 999)}"

    if kind == "adult":
        dob = _random_dob(rng, as_of, minor=False)
    elif kind == "minor":
        dob = _random_dob(rng, as_of, minor=True)
    else:
        dob = _edge_dob(kind, as_of, rng)
    dob_str = _iso_ms(dob, rng.randint(0, 86399), rng.randint(0, 999))
    reg_lo = max(_REGISTERED_MIN, dob)
    reg_hi = max(reg_lo, as_of - dt.timedelta(days=1))
    registered = dt.date.fromordinal(rng.randint(reg_lo.toordinal(), reg_hi.toordinal()))
    reg_str = _iso_ms(registered, rng.randint(0, 86399), rng.randint(0, 999))

    person = _Person(gender, first, last, dob)
    id_value = data.id_value(rng, person)
    phone = data.phone(rng)
    cell = data.cell(rng)
    pic_id = rng.randint(0, 99 if gender == "male" else 96)
    folder = "men" if gender == "male" else "women"

    return {
        "gender": gender,
        "name": {"title": title, "first": first, "last": last},
        "location": {
            "street": {"number": street_number, "name": street},
            "city": city,
            "state": state,
            "country": COUNTRY_NAMES[nat],
            "postcode": postcode,
            "coordinates": {"latitude": latitude, "longitude": longitude},
            "timezone": {"offset": tz_offset, "description": tz_desc},
        },
        "email": f"{_ascii_fold(first)}.{_ascii_fold(last)}@example.com",
        "login": {
            "uuid": user_uuid,
            "username": username,
            "password": password,
            "salt": salt,
            "md5": hashlib.md5(salted).hexdigest(),
            "sha1": hashlib.sha1(salted).hexdigest(),
            "sha256": hashlib.sha256(salted).hexdigest(),
        },
        "dob": {"date": dob_str, "age": age_on(dob, as_of)},
        "registered": {"date": reg_str, "age": age_on(registered, as_of)},
        "phone": phone,
        "cell": cell,
        "id": {"name": ID_NAMES[nat], "value": id_value},
        "picture": {
            "large": f"{_PICTURE_BASE}{folder}/{pic_id}.jpg",
            "medium": f"{_PICTURE_BASE}med/{folder}/{pic_id}.jpg",
            "thumbnail": f"{_PICTURE_BASE}thumb/{folder}/{pic_id}.jpg",
        },
        "nat": nat,
    }


def iter_users(
    count: int,
    seed: object = "profilepipe",
    nats: str | Iterable[str] | None = None,
    minor_share: float = 0.1,
    long_address_share: float = 0.05,
    as_of: dt.date | str | None = None,
    page: int = 1,
) -> Iterator[dict]:
    """Yield ``count`` v1.4 users, deterministic in all arguments (see module doc).

    ``round(count * minor_share)`` users are 0-17 years old on ``as_of`` (the first of
    them are the edge cases of ``MINOR_EDGE_CASES``; when there is at least one minor,
    two adults get ``ADULT_EDGE_CASES`` dobs), ``round(count * long_address_share)``
    have a full address over 100 UTF-8 bytes. ``page`` gives another, independent
    set of users for the same seed, like the API's paging.
    """
    if count < 0:
        raise ValueError("count must be >= 0")
    codes = _check_nats(nats)
    day = parse_as_of(as_of)
    rng = _rng_for(seed, page)
    kinds, longs = _roles(rng, count, minor_share, long_address_share)
    for i in range(count):
        nat = codes[rng.randrange(len(codes))]
        yield _make_user(rng, nat, day, kinds.get(i, "adult"), i in longs)


def generate_users(
    count: int,
    seed: object = "profilepipe",
    nats: str | Iterable[str] | None = None,
    minor_share: float = 0.1,
    long_address_share: float = 0.05,
    as_of: dt.date | str | None = None,
    page: int = 1,
) -> list[dict]:
    """A list of :func:`iter_users`."""
    return list(
        iter_users(
            count,
            seed=seed,
            nats=nats,
            minor_share=minor_share,
            long_address_share=long_address_share,
            as_of=as_of,
            page=page,
        )
    )


def generate_envelope(
    count: int,
    seed: object = "profilepipe",
    nats: str | Iterable[str] | None = None,
    minor_share: float = 0.1,
    long_address_share: float = 0.05,
    as_of: dt.date | str | None = None,
    page: int = 1,
) -> dict:
    """An API-shaped response: ``{"results": [...], "info": {seed, results, page, version}}``."""
    users = generate_users(
        count,
        seed=seed,
        nats=nats,
        minor_share=minor_share,
        long_address_share=long_address_share,
        as_of=as_of,
        page=page,
    )
    return {
        "results": users,
        "info": {"seed": str(seed), "results": count, "page": page, "version": API_VERSION},
    }


def user_json(user: dict) -> str:
    """The compact JSON text of one user, non-ASCII kept (as the producer sends it)."""
    return json.dumps(user, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- malformed messages
def _malformed_cases(rng: random.Random, base: Sequence[dict]) -> list[tuple[str, str, bytes | None, bytes]]:
    """(reason, detail, key, value) cases, each built from a valid user with one defect."""

    def user(i: int) -> dict:
        return json.loads(json.dumps(base[i % len(base)]))

    def enc(u: object) -> bytes:
        return json.dumps(u, ensure_ascii=False).encode("utf-8")

    def key_of(u: dict) -> bytes:
        return u["login"]["uuid"].encode()

    cases: list[tuple[str, str, bytes | None, bytes]] = []
    u = user(0)
    cases.append(("invalid_json", "truncated JSON", key_of(u), enc(u)[: len(enc(u)) // 2]))
    cases.append(("invalid_json", "plain text", None, b"this is not json"))
    u = user(1)
    u["name"]["first"] = "Zoé"
    cases.append(
        (
            "invalid_json",
            "not UTF-8 (Latin-1 bytes)",
            key_of(u),
            json.dumps(u, ensure_ascii=False).encode("latin-1", errors="replace"),
        )
    )
    cases.append(("invalid_json", "not UTF-8 (binary)", b"binary", b"\xff\xfe\x00\x81garbage\xc3"))
    cases.append(("not_a_user", "JSON array", None, b"[1, 2]"))
    cases.append(("not_a_user", "object without user fields", b"foo", b'{"foo": 1}'))
    cases.append(("not_a_user", "empty object", None, b"{}"))
    u = user(2)
    del u["login"]
    cases.append(("missing_uuid", "no login object", None, enc(u)))
    u = user(3)
    del u["login"]["uuid"]
    cases.append(("missing_uuid", "login without uuid", None, enc(u)))
    u = user(4)
    u["login"]["uuid"] = None
    cases.append(("missing_uuid", "login.uuid is null", None, enc(u)))
    u = user(5)
    u["login"]["uuid"] = "not-a-uuid"
    cases.append(("invalid_uuid", "not a uuid", b"not-a-uuid", enc(u)))
    u = user(6)
    u["login"]["uuid"] = u["login"]["uuid"][:-1] + "g"
    cases.append(("invalid_uuid", "non-hex character", key_of(u), enc(u)))
    u = user(11)
    u["login"]["uuid"] = u["login"]["uuid"][:8]
    cases.append(("invalid_uuid", "too short", key_of(u), enc(u)))
    u = user(7)
    u["dob"]["date"] = "not a date"
    cases.append(("invalid_dob", "unparseable dob", key_of(u), enc(u)))
    u = user(8)
    u["dob"]["date"] = "1990-13-45T00:00:00.000Z"
    cases.append(("invalid_dob", "impossible month/day", key_of(u), enc(u)))
    u = user(9)
    del u["dob"]
    cases.append(("invalid_dob", "no dob", key_of(u), enc(u)))
    u = user(10)
    u["dob"]["date"] = f"{2100 + rng.randint(0, 90)}-06-15T12:00:00.000Z"
    u["dob"]["age"] = -80
    cases.append(("future_dob", "dob decades in the future", key_of(u), enc(u)))
    return cases


def malformed_messages(count: int, seed: object = "profilepipe-malformed") -> list[dict]:
    """``count`` bad Kafka messages, each ``{"key", "value", "expected_reason", "detail"}``.

    Keys and values are bytes (key may be None). Every message has exactly one
    defect; reasons cycle through all of :data:`DEAD_LETTER_REASONS`, so any
    ``count >= 6`` covers each reason. Conventions the transform must follow:

    * ``invalid_json``: bytes that are not UTF-8 or not valid JSON;
    * ``not_a_user``: valid JSON that is not an object, or an object with none of
      the v1.4 user fields;
    * ``missing_uuid``: a user object without ``login``/``login.uuid`` (or null);
    * ``invalid_uuid``: ``login.uuid`` is not a canonical 8-4-4-4-12 hex uuid;
    * ``invalid_dob``: ``dob``/``dob.date`` missing or unparseable;
    * ``future_dob``: ``dob.date`` after the processing date.
    """
    out = []
    rounds: dict[int, dict[str, list]] = {}
    n_reasons = len(DEAD_LETTER_REASONS)
    for i in range(count):
        reason = DEAD_LETTER_REASONS[i % n_reasons]
        rnd = i // n_reasons
        if rnd not in rounds:  # each round is built from other users, so messages differ
            rng = _rng_for(seed, rnd)
            base = generate_users(
                16, seed=f"{seed}|base", minor_share=0.0, long_address_share=0.0, page=rnd + 1
            )
            cases = _malformed_cases(rng, base)
            rounds = {rnd: {r: [c for c in cases if c[0] == r] for r in DEAD_LETTER_REASONS}}
        variants = rounds[rnd][reason]
        _, detail, key, value = variants[rnd % len(variants)]
        out.append({"key": key, "value": value, "expected_reason": reason, "detail": detail})
    return out


# --------------------------------------------------------------------------- bad inputs
#: Size of the ``too_large`` values of :func:`bad_inputs`: over the default
#: ``max_message_bytes`` (512 KiB), and over 1 MiB.
TOO_LARGE_BYTES = 1_048_600
#: Size of the big but acceptable user of :func:`bad_inputs`: under the default limit.
LARGE_OK_BYTES = 400_000


@dataclass(frozen=True)
class BadInput:
    """One distinct bad (or odd) Kafka message and what the transform must make of it.

    ``key``/``value`` are the message bytes (either may be None). ``records`` is how
    many records the transform counts (an envelope of n users: n, anything else 1) and
    ``outcomes`` holds ``(outcome, dead-letter reason or None)`` per record, in record
    order. ``pii`` lists the personal strings of the users inside the message (phone,
    cell, street name, email local part, login password/salt/md5/sha1/sha256): no dead
    letter may contain any of them, no stored row a phone or street in clear.
    """

    name: str
    key: bytes | None
    value: bytes | None
    records: int
    outcomes: tuple[tuple[str, str | None], ...]
    pii: tuple[str, ...] = ()


#: The top-level keys of a v1.4 user, in the API's order.
_USER_KEYS = (
    "gender",
    "name",
    "location",
    "email",
    "login",
    "dob",
    "registered",
    "phone",
    "cell",
    "id",
    "picture",
    "nat",
)
_PII_PATHS = (
    ("phone",),
    ("cell",),
    ("location", "street", "name"),
    ("email",),
    ("login", "password"),
    ("login", "salt"),
    ("login", "md5"),
    ("login", "sha1"),
    ("login", "sha256"),
)


def _pii(*users: object) -> tuple[str, ...]:
    """The PII strings (see ``BadInput.pii``) found in ``users``, whatever their shape."""
    found: list[str] = []
    for u in users:
        for path in _PII_PATHS:
            node = u
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, bool) or not isinstance(node, str | int | float):
                continue
            text = str(node)
            if path == ("email",):
                text = text.split("@", 1)[0]
            if len(text) >= 4 and text not in found:  # shorter: not identifying, matches by chance
                found.append(text)
    return tuple(found)


def _jbytes(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _padded_street(u: dict, total: int) -> bytes:
    """``u`` as JSON of exactly ``total`` bytes, by growing its (ASCII) street name."""
    street = _ascii_fold(u["location"]["street"]["name"]) or "highstreet"
    u["location"]["street"]["name"] = ""
    room = total - len(_jbytes(u))
    u["location"]["street"]["name"] = ((street + " ") * (room // (len(street) + 1) + 1))[:room]
    value = _jbytes(u)
    assert len(value) == total, (len(value), total)
    return value


def bad_inputs(as_of: dt.date | str, seed: object = "profilepipe-bad") -> list[BadInput]:
    """The reusable corpus of bad inputs: one ``BadInput`` per distinct defect.

    Deterministic in ``(as_of, seed)``; every user in it is a different generated v1.4
    user (so the whole corpus can run as one batch without unintended duplicates) with
    a distinctive password whose md5/sha1/sha256 are recomputed. The expectations
    assume ``min_age`` 18 and the default ``max_message_bytes`` (512 KiB); ``as_of`` is
    the processing date the transform uses (future and minor dates are relative to it).

    Wrong-typed fields of an otherwise valid user: ``schema`` reads every varying
    field as text and ``from_json`` keeps the rest of the user when one field has the
    wrong JSON type (that field is null), so such users are stored whenever uuid and
    dob survive; a wrong-typed ``login``/``login.uuid``/``dob``/``dob.date`` is a dead
    letter.
    """
    day = parse_as_of(as_of)
    rng = _rng_for(seed, 0)
    pool = iter(generate_users(120, seed=f"{seed}|users", minor_share=0.0, long_address_share=0.0, as_of=day))
    minors = iter(
        generate_users(4, seed=f"{seed}|minors", minor_share=1.0, long_address_share=0.0, as_of=day)
    )

    def secret(u: dict) -> dict:
        login = u["login"]
        login["password"] = f"{login['password']}{rng.randint(1000, 9999)}!"
        salted = (login["password"] + login["salt"]).encode()
        login["md5"] = hashlib.md5(salted).hexdigest()
        login["sha1"] = hashlib.sha1(salted).hexdigest()
        login["sha256"] = hashlib.sha256(salted).hexdigest()
        return u

    def fresh() -> dict:
        return secret(next(pool))

    def minor() -> dict:
        return secret(next(minors))

    def key(u: dict) -> bytes:
        return u["login"]["uuid"].encode()

    stored, minor_ = ("stored", None), ("filtered_minor", None)

    def dead(reason: str) -> tuple[str, str]:
        return ("dead_letter", reason)

    out: list[BadInput] = []

    def add(name, value, outcomes, k=None, users=()):
        out.append(BadInput(name, k, value, len(outcomes), tuple(outcomes), _pii(*users)))

    def user_case(name, change, outcome, keyed=True):
        """A fresh user changed in place by ``change(u)``; keyed by its original uuid."""
        u = fresh()
        original = json.loads(json.dumps(u))
        change(u)
        add(name, _jbytes(u), [outcome], key(original) if keyed else None, (original, u))

    def set_path(path: str, value):
        def change(u):
            *parents, leaf = path.split(".")
            node = u
            for p in parents:
                node = node[p]
            node[leaf] = value

        return change

    def drop(path: str):
        def change(u):
            *parents, leaf = path.split(".")
            node = u
            for p in parents:
                node = node[p]
            del node[leaf]

        return change

    # --- not JSON at all
    add("not_json_text", b"this is not json", [dead("invalid_json")])
    add(
        "not_json_html_error_page",
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        [dead("invalid_json")],
    )
    add("empty_value", b"", [dead("invalid_json")])
    add("whitespace_value", b" \r\n\t ", [dead("invalid_json")])
    # --- truncated JSON (from_json alone would keep a partial user or envelope)
    u = fresh()
    add("truncated_user_half", _jbytes(u)[: len(_jbytes(u)) // 2], [dead("invalid_json")], key(u), (u,))
    u = fresh()
    text = _jbytes(u)
    add("truncated_user_after_key", text[: text.index(b'"dob":') + 6], [dead("invalid_json")], key(u), (u,))
    u = fresh()
    add("user_without_closing_brace", _jbytes(u)[:-1], [dead("invalid_json")], key(u), (u,))
    a, b, c = fresh(), fresh(), fresh()
    text = _jbytes({"results": [a, b, c]})
    add(
        "envelope_truncated_after_a_user",
        text[: text.index(_jbytes(c)) - 1],
        [dead("invalid_json")],
        None,
        (a, b, c),
    )
    # --- JSON, but not a user object
    u = fresh()
    add("json_array_of_users", _jbytes([u]), [dead("not_a_user")], key(u), (u,))
    add("json_number", b"42", [dead("not_a_user")])
    add("json_string", b'"a user"', [dead("not_a_user")])
    add("json_null", b"null", [dead("not_a_user")])
    add("json_true", b"true", [dead("not_a_user")])
    add("empty_object", b"{}", [dead("not_a_user")])
    add("empty_results", b'{"results": []}', [dead("not_a_user")])
    add("results_not_a_list", b'{"results": "none today"}', [dead("not_a_user")])
    add("results_null", b'{"results": null, "info": {"results": 0}}', [dead("not_a_user")])
    add(
        "api_error_object",
        b'{"error": "Uh oh, something has gone wrong. Please tweet us @randomapi"}',
        [dead("not_a_user")],
    )
    add("user_with_all_fields_null", _jbytes(dict.fromkeys(_USER_KEYS)), [dead("not_a_user")])
    u = fresh()
    add("nested_envelope", _jbytes({"results": [{"results": [u]}]}), [dead("not_a_user")], None, (u,))
    # --- an envelope mixing valid, minor and broken users
    ok1, kid, bad_uuid, no_dob, future, ok2 = fresh(), minor(), fresh(), fresh(), fresh(), fresh()
    bad_uuid["login"]["uuid"] = "not-a-uuid"
    del no_dob["dob"]
    future["dob"]["date"] = f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00.000Z"
    members = [ok1, kid, bad_uuid, 7, {"foo": 1}, None, "a user", no_dob, future, ok2]
    add(
        "envelope_mixing_valid_minor_and_broken_users",
        _jbytes({"results": members, "info": {"seed": str(seed), "results": len(members), "page": 1}}),
        [
            stored,
            minor_,
            dead("invalid_uuid"),
            dead("not_a_user"),
            dead("not_a_user"),
            dead("not_a_user"),
            dead("not_a_user"),
            dead("invalid_dob"),
            dead("future_dob"),
            stored,
        ],
        None,
        (ok1, kid, bad_uuid, no_dob, future, ok2),
    )
    # --- login / uuid
    user_case("user_without_login", drop("login"), dead("missing_uuid"), keyed=False)
    user_case("login_without_uuid", drop("login.uuid"), dead("missing_uuid"), keyed=False)
    user_case("uuid_null", set_path("login.uuid", None), dead("missing_uuid"), keyed=False)
    user_case("uuid_empty", set_path("login.uuid", ""), dead("missing_uuid"), keyed=False)
    user_case("uuid_blank", set_path("login.uuid", "   "), dead("missing_uuid"), keyed=False)
    user_case("uuid_not_a_uuid", set_path("login.uuid", "not-a-uuid"), dead("invalid_uuid"))
    user_case(
        "uuid_with_braces",
        lambda u: set_path("login.uuid", "{" + u["login"]["uuid"] + "}")(u),
        dead("invalid_uuid"),
    )
    user_case(
        "uuid_without_dashes",
        lambda u: set_path("login.uuid", u["login"]["uuid"].replace("-", ""))(u),
        dead("invalid_uuid"),
    )
    user_case(
        "uuid_non_hex",
        lambda u: set_path("login.uuid", u["login"]["uuid"][:-1] + "g")(u),
        dead("invalid_uuid"),
    )
    user_case("uuid_number", set_path("login.uuid", 20260115), dead("invalid_uuid"))
    user_case(
        "uuid_object",
        lambda u: set_path("login.uuid", {"value": u["login"]["uuid"]})(u),
        dead("invalid_uuid"),
    )
    user_case("uuid_upper_case", lambda u: set_path("login.uuid", u["login"]["uuid"].upper())(u), stored)
    user_case(
        "uuid_padded_with_spaces", lambda u: set_path("login.uuid", f"  {u['login']['uuid']} ")(u), stored
    )
    user_case("login_string", set_path("login", "tinyzebra301"), dead("missing_uuid"), keyed=False)
    # --- dob
    user_case("dob_missing", drop("dob"), dead("invalid_dob"))
    user_case("dob_null", set_path("dob", None), dead("invalid_dob"))
    user_case("dob_date_null", set_path("dob.date", None), dead("invalid_dob"))
    user_case("dob_date_missing", drop("dob.date"), dead("invalid_dob"))
    user_case("dob_unparseable", set_path("dob.date", "not a date"), dead("invalid_dob"))
    user_case("dob_impossible_day", set_path("dob.date", "1990-02-30T00:00:00.000Z"), dead("invalid_dob"))
    user_case("dob_date_a_number", set_path("dob.date", 19900101), dead("invalid_dob"))
    user_case("dob_a_string", set_path("dob", "1990-01-01T00:00:00.000Z"), dead("invalid_dob"))
    tomorrow = f"{(day + dt.timedelta(days=1)).isoformat()}T00:00:00.000Z"
    user_case("dob_in_the_future", set_path("dob.date", tomorrow), dead("future_dob"))
    user_case("dob_without_time", lambda u: set_path("dob.date", u["dob"]["date"][:10])(u), stored)
    # --- wrong JSON types in the other fields: the user is still stored
    user_case("gender_a_number", set_path("gender", 1), stored)
    user_case("name_a_list", lambda u: set_path("name", [u["name"]["first"], u["name"]["last"]])(u), stored)
    user_case("name_first_a_number", set_path("name.first", 42), stored)
    user_case("location_a_string", lambda u: set_path("location", full_address(u))(u), stored)
    user_case(
        "street_a_string",
        lambda u: set_path(
            "location.street", f"{u['location']['street']['number']} {u['location']['street']['name']}"
        )(u),
        stored,
    )
    user_case(
        "street_number_a_string",
        lambda u: set_path("location.street.number", f"{u['location']['street']['number']}a")(u),
        stored,
    )
    user_case("postcode_an_int", set_path("location.postcode", 48211), stored)
    user_case("postcode_a_string", set_path("location.postcode", "04821"), stored)
    user_case(
        "coordinates_numbers",
        lambda u: set_path(
            "location.coordinates",
            {k: float(v) for k, v in u["location"]["coordinates"].items()},
        )(u),
        stored,
    )
    user_case("timezone_a_string", set_path("location.timezone", "+1:00"), stored)
    user_case("email_a_number", set_path("email", 42), stored)
    user_case("username_a_number", set_path("login.username", 301), stored)
    user_case("password_a_number", set_path("login.password", 7741029385), stored)
    user_case("dob_age_a_string", lambda u: set_path("dob.age", str(u["dob"]["age"]))(u), stored)
    user_case("dob_age_a_float", lambda u: set_path("dob.age", u["dob"]["age"] + 0.5)(u), stored)
    user_case("registered_date_garbage", set_path("registered.date", "yesterday-ish"), stored)
    user_case("registered_a_string", lambda u: set_path("registered", u["registered"]["date"])(u), stored)
    user_case(
        "phone_a_number",
        lambda u: set_path("phone", int("9" + "".join(ch for ch in u["phone"] if ch.isdigit())))(u),
        stored,
    )
    user_case(
        "cell_a_number",
        lambda u: set_path("cell", int("9" + "".join(ch for ch in u["cell"] if ch.isdigit())))(u),
        stored,
    )
    user_case("id_value_null", set_path("id.value", None), stored)
    user_case("id_a_string", set_path("id", "NaNNA229undefined"), stored)
    user_case("picture_a_number", set_path("picture", 7), stored)
    user_case("nat_a_number", set_path("nat", 42), stored)
    # --- bytes that are not UTF-8, and other encodings
    u = fresh()
    u["name"]["first"], u["name"]["last"] = "Zoé", "Müller"
    add(
        "latin1_name",
        json.dumps(u, ensure_ascii=False).encode("latin-1", errors="replace"),
        [dead("invalid_json")],
        key(u),
        (u,),
    )
    u = fresh()
    u["name"]["first"] += "\ud800"
    add("lone_surrogate_bytes", _jbytes_surrogates(u), [dead("invalid_json")], key(u), (u,))
    add("random_bytes", b"\xff" + rng.randbytes(255), [dead("invalid_json")], b"\x00\x81")
    u = fresh()
    add(
        "utf16_user", json.dumps(u, ensure_ascii=False).encode("utf-16"), [dead("invalid_json")], key(u), (u,)
    )
    u = fresh()
    add("utf8_bom_before_user", b"\xef\xbb\xbf" + _jbytes(u), [dead("invalid_json")], key(u), (u,))
    u = fresh()
    u["name"]["first"] += "\ud800"  # as the JSON escape \ud800: valid JSON, read as '?'
    add("escaped_lone_surrogate", json.dumps(u).encode("ascii"), [stored], key(u), (u,))
    # --- size
    u = fresh()
    original = json.loads(json.dumps(u))
    add("too_large_user", _padded_street(u, TOO_LARGE_BYTES), [dead("too_large")], key(u), (original, u))
    add("too_large_junk", b"\xff\xfe" + rng.randbytes(TOO_LARGE_BYTES - 2), [dead("too_large")], b"junk")
    env_users = [fresh() for _ in range(3)]
    env = {"results": env_users, "info": {"seed": "", "results": 3, "page": 1, "version": API_VERSION}}
    env["info"]["seed"] = "x" * (TOO_LARGE_BYTES - len(_jbytes(env)))
    add("too_large_envelope", _jbytes(env), [dead("too_large")], None, env_users)
    u = fresh()
    original = json.loads(json.dumps(u))
    add("large_user_under_the_limit", _padded_street(u, LARGE_OK_BYTES), [stored], key(u), (original, u))
    # --- keys and tombstones
    u = fresh()
    add("tombstone", None, [dead("invalid_json")], key(u))
    u = fresh()
    add("key_missing", _jbytes(u), [stored], None, (u,))
    u = fresh()
    add("key_not_utf8", _jbytes(u), [stored], b"\xff\xfe\x00", (u,))
    # --- duplicates inside one batch: the later record wins
    u = fresh()
    again = json.loads(json.dumps(u))
    again["name"]["first"] = "Changed"
    add(
        "duplicate_uuid_in_one_batch",
        _jbytes({"results": [u, again]}),
        [dead("duplicate_in_batch"), stored],
        key(u),
        (u, again),
    )
    u = fresh()
    upper = json.loads(json.dumps(u))
    upper["login"]["uuid"] = upper["login"]["uuid"].upper()
    add(
        "duplicate_uuid_differing_in_case",
        _jbytes({"results": [upper, u]}),
        [dead("duplicate_in_batch"), stored],
        key(u),
        (u,),
    )
    # --- text the API never sends but a producer might
    scripts = [
        ("نازنین", "رضایی"),  # Persian, right to left
        ("Богдан", "Шевченко"),  # Cyrillic
        ("太郎", "山田"),  # CJK
        ("Ελένη", "Παπαδοπούλου"),  # Greek
        ("अनन्या", "शर्मा"),  # Devanagari
        ("Zoe\u0301 🌻", "O\u2019Brien-Nguyễn"),  # combining accent, emoji, typographic apostrophe
    ]
    named = []
    for first, last in scripts:
        u = fresh()
        u["name"]["first"], u["name"]["last"] = first, last
        named.append(u)
    add("names_in_non_latin_scripts", _jbytes({"results": named}), [stored] * len(named), None, named)
    u = fresh()
    u["extra"] = {"tracking": [1, 2, 3], "flags": {"vip": True}}
    u["login"]["otp_secret"] = "JBSWY3DPEHPK3PXP"
    u["location"]["floor"] = 3
    add("extra_unknown_fields", _jbytes(u), [stored], key(u), (u,))
    u = fresh()
    u["junk"] = json.loads('{"a": [' * 250 + "1" + "]}" * 250)
    add("deeply_nested_junk_in_user", _jbytes(u), [stored], key(u), (u,))
    u = fresh()
    add(
        "nesting_beyond_parser_limit",
        _jbytes(u)[:-1] + b',"junk":' + b"[" * 1200 + b"]" * 1200 + b"}",
        [dead("invalid_json")],
        key(u),
        (u,),
    )
    add("deeply_nested_junk", b"[" * 300 + b"{}" + b"]" * 300, [dead("not_a_user")])
    u = fresh()
    add("leading_whitespace", b"\r\n\t " + _jbytes(u), [stored], key(u), (u,))
    u = fresh()
    add(
        "nan_in_user",
        _jbytes(u).replace(b'"dob":{', b'"dob":{"score":NaN,', 1),
        [dead("invalid_json")],
        key(u),
        (u,),
    )
    return out


def _jbytes_surrogates(obj: object) -> bytes:
    """UTF-8 bytes of ``obj``'s JSON with lone surrogates written as such (not UTF-8)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8", errors="surrogatepass")


__all__ = [
    "API_VERSION",
    "NATIONALITIES",
    "COUNTRY_NAMES",
    "ID_NAMES",
    "STRING_POSTCODE_NATS",
    "NULL_ID_NATS",
    "DEAD_LETTER_REASONS",
    "MINOR_EDGE_CASES",
    "ADULT_EDGE_CASES",
    "iter_users",
    "generate_users",
    "generate_envelope",
    "malformed_messages",
    "expected_outcome",
    "age_on",
    "dob_date",
    "parse_as_of",
    "full_address",
    "user_json",
    "BadInput",
    "bad_inputs",
    "TOO_LARGE_BYTES",
]
