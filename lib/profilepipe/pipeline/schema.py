"""The randomuser.me v1.4 user as a Spark schema.

Everything whose JSON type varies between nationalities is read as a string:
``from_json`` stores a JSON number that lands in a ``StringType`` field as its text
(checked on Spark 4.2: ``12345`` -> ``"12345"``, ``"K1A 0B1"`` stays ``"K1A 0B1"``,
``"0150"`` keeps its leading zero), so ``postcode`` survives as int or string and no
GB/CA/NL/NO user is lost. ``id.value`` is nullable (null for IR, NZ, TR, UA),
coordinates are strings in the API, and dates are kept as strings and parsed later
(``transform``), so a bad date becomes a dead letter instead of a silent null.

``USER_SCHEMA`` is the full shape. ``PARSE_SCHEMA`` is what the transform actually
reads: the same fields without the password material (``login.password``, ``salt``,
``md5``, ``sha1``, ``sha256``), ``cell``, ``id``, ``picture`` and coordinates.
``from_json`` only extracts the fields of its schema, so those values are never
materialised in a Spark column at all.
"""

from __future__ import annotations

from pyspark.sql.types import (
    ArrayType,
    IntegerType,
    StringType,
    StructField,
    StructType,
)

from profilepipe.contract import USER_KEYS


def _s(name: str) -> StructField:
    return StructField(name, StringType(), True)


def _struct(name: str, *fields: StructField) -> StructField:
    return StructField(name, StructType(list(fields)), True)


NAME = _struct("name", _s("title"), _s("first"), _s("last"))
LOCATION = _struct(
    "location",
    # number is an int in the API; read as text so an odd value never nulls the row
    _struct("street", _s("number"), _s("name")),
    _s("city"),
    _s("state"),
    _s("country"),
    _s("postcode"),  # int for most nationalities, string for CA, GB, NL, NO
    _struct("coordinates", _s("latitude"), _s("longitude")),
    _struct("timezone", _s("offset"), _s("description")),
)
LOGIN = _struct(
    "login", _s("uuid"), _s("username"), _s("password"), _s("salt"), _s("md5"), _s("sha1"), _s("sha256")
)
DOB = _struct("dob", _s("date"), StructField("age", IntegerType(), True))
REGISTERED = _struct("registered", _s("date"), StructField("age", IntegerType(), True))
ID = _struct("id", _s("name"), _s("value"))  # value null for IR, NZ, TR, UA
PICTURE = _struct("picture", _s("large"), _s("medium"), _s("thumbnail"))

#: The full v1.4 user, every field of the API, in the order of ``contract.USER_KEYS``.
_TOP_LEVEL = {
    "gender": _s("gender"),
    "name": NAME,
    "location": LOCATION,
    "email": _s("email"),
    "login": LOGIN,
    "dob": DOB,
    "registered": REGISTERED,
    "phone": _s("phone"),
    "cell": _s("cell"),
    "id": ID,
    "picture": PICTURE,
    "nat": _s("nat"),
}
if set(_TOP_LEVEL) != set(USER_KEYS):  # the contract names the keys; this module only types them
    raise ImportError(f"schema.py types {sorted(_TOP_LEVEL)}, the contract lists {sorted(USER_KEYS)}")
USER_SCHEMA = StructType([_TOP_LEVEL[k] for k in USER_KEYS])

#: ``info`` of an API response.
INFO_SCHEMA = StructType(
    [
        _s("seed"),
        StructField("results", IntegerType(), True),
        StructField("page", IntegerType(), True),
        _s("version"),
    ]
)

#: A whole API response: ``{"results": [user, ...], "info": {...}}``.
ENVELOPE_SCHEMA = StructType(
    [StructField("results", ArrayType(USER_SCHEMA, True), True), StructField("info", INFO_SCHEMA, True)]
)

#: Fields never read by the transform (secrets, data it does not store).
NOT_PARSED = {
    "login": ("password", "salt", "md5", "sha1", "sha256"),
    "location": ("coordinates", "timezone"),
    None: ("cell", "id", "picture"),
}


def _without(schema: StructType, drop: dict) -> StructType:
    fields = []
    for f in schema.fields:
        if f.name in drop.get(None, ()):
            continue
        if f.name in drop and isinstance(f.dataType, StructType):
            kept = [sub for sub in f.dataType.fields if sub.name not in drop[f.name]]
            f = StructField(f.name, StructType(kept), f.nullable)
        fields.append(f)
    return StructType(fields)


#: The user as the transform reads it: no password material, no cell, no national id.
PARSE_SCHEMA = _without(USER_SCHEMA, NOT_PARSED)

#: Top-level user fields the transform reads (``contract.USER_KEYS`` less the ``NOT_PARSED``
#: ones); an object with none of them is not a user.
USER_FIELDS = tuple(f.name for f in PARSE_SCHEMA.fields)

#: One JSON document as the transform reads it: a user, or an envelope whose users are
#: kept as raw JSON text (``from_json`` writes a nested object into a string field as
#: its JSON text) and parsed one by one after the explode.
DOCUMENT_SCHEMA = StructType(
    [StructField("results", ArrayType(StringType(), True), True), *PARSE_SCHEMA.fields]
)
