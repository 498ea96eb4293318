"""Rebuild the sample files of this folder from the seeded generator.

    python data/samples/make_samples.py        (from the checkout, package importable)

The output is deterministic: same generator code -> byte-identical files.
"""

from __future__ import annotations

import json
from pathlib import Path

from profilepipe.sources import generator

HERE = Path(__file__).resolve().parent
AS_OF = "2026-01-15"  # the date the "responses" were taken: dob.age/registered.age refer to it
SEED = "profilepipe-samples"


def mixed_users() -> list[dict]:
    pool = generator.generate_users(600, seed=SEED, minor_share=0.1, long_address_share=0.05, as_of=AS_OF)
    chosen: list[int] = []
    for nat in generator.NATIONALITIES:  # two of every nationality
        chosen += [i for i, u in enumerate(pool) if u["nat"] == nat][:2]
    quirks = [  # a Norwegian postcode with its leading zero, a 3-digit Australian one
        next(i for i, u in enumerate(pool) if u["nat"] == "NO" and u["location"]["postcode"].startswith("0")),
        next(i for i, u in enumerate(pool) if u["nat"] == "AU" and u["location"]["postcode"] < 1000),
    ]
    chosen += [i for i in quirks if i not in chosen]
    minors = [
        i
        for i, u in enumerate(pool)
        if generator.expected_outcome(u, AS_OF) == "filtered_minor" and i not in chosen
    ][:4]
    longs = [
        i
        for i, u in enumerate(pool)
        if len(generator.full_address(u).encode()) > 100 and i not in chosen and i not in minors
    ][:4]
    return [pool[i] for i in sorted(chosen + minors + longs)]


def main() -> None:
    users = mixed_users()
    envelope = {
        "results": users,
        "info": {"seed": SEED, "results": len(users), "page": 1, "version": generator.API_VERSION},
    }
    (HERE / "users_1.4_mixed.json").write_text(
        json.dumps(envelope, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )

    single = next(
        u
        for u in generator.generate_users(
            20, seed="profilepipe-single", nats=["NO"], minor_share=0.0, long_address_share=0.0, as_of=AS_OF
        )
        if u["location"]["postcode"].startswith("0")
    )
    (HERE / "single_user.json").write_text(
        json.dumps(single, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )

    lines_users = [
        generator.generate_users(
            1,
            seed=f"profilepipe-jsonl-{nat}",
            nats=[nat],
            minor_share=0.0,
            long_address_share=0.0,
            as_of=AS_OF,
        )[0]
        for nat in ("IR", "UA", "GB", "CA")
    ]
    env = generator.generate_envelope(
        3,
        seed="profilepipe-jsonl-envelope",
        nats=["RS", "NL", "NZ"],
        minor_share=0.0,
        long_address_share=0.0,
        as_of=AS_OF,
    )
    env["results"] = [
        generator.generate_users(
            1,
            seed=f"profilepipe-jsonl-{nat}",
            nats=[nat],
            minor_share=0.0,
            long_address_share=0.0,
            as_of=AS_OF,
        )[0]
        for nat in ("RS", "NL", "NZ")
    ]
    lines = [json.dumps(u, ensure_ascii=False) for u in lines_users[:2]]
    lines.append(json.dumps(env, ensure_ascii=False))
    lines += [json.dumps(u, ensure_ascii=False) for u in lines_users[2:]]
    (HERE / "users.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
