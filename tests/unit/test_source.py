"""The randomuser.me client against a real local HTTP server replaying scripted answers,
sample replay, and the choice of source."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from profilepipe import sources
from profilepipe.config import Settings
from profilepipe.contract import NATIONALITIES
from profilepipe.errors import SourceError
from profilepipe.sources import generator, samples
from profilepipe.sources.api import RandomUserClient

AS_OF = "2026-01-15"
OUTAGE_HTML = (
    "<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head>"
    "<body><center><h1>503 Service Temporarily Unavailable</h1></center></body></html>"
)


class ScriptedAPI:
    """A local HTTP server; each request takes the next scripted answer.

    An answer is ``(status, headers, body)`` (body: str/bytes, or a dict sent as JSON),
    ``"auto"`` (a generated envelope for the request's results/seed/page) or
    ``("sleep", seconds, answer)``. When the script is empty, answers are ``"auto"``.
    """

    def __init__(self):
        self.script: list = []
        self.requests: list[dict] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                api.requests.append({"path": parts.path, "query": query, "time": time.monotonic()})
                answer = api.script.pop(0) if api.script else "auto"
                if isinstance(answer, tuple) and answer[0] == "sleep":
                    time.sleep(answer[1])
                    answer = answer[2]
                if answer == "auto":
                    n = int(query.get("results", "1"))
                    body = generator.generate_envelope(
                        n, seed=query.get("seed", "x"), page=int(query.get("page", "1")), as_of=AS_OF
                    )
                    answer = (200, {}, body)
                status, headers, body = answer
                if isinstance(body, (dict, list)):
                    body = json.dumps(body, ensure_ascii=False)
                    headers = {"Content-Type": "application/json; charset=utf-8", **headers}
                data = body.encode() if isinstance(body, str) else body
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/1.4/"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = ScriptedAPI()
    yield server
    server.close()


def _settings(url: str, **changes) -> Settings:
    base = dict(
        api_url=url,
        api_timeout=2.0,
        api_retries=5,
        api_min_interval=0.0,
        api_backoff_base=0.01,
        api_backoff_max=5.0,
        seed="profilepipe",
        as_of=AS_OF,
    )
    base.update(changes)
    return Settings(**base)


class Sleeps:
    """Records the client's pauses and really takes them."""

    def __init__(self):
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds)


def _client(url: str, **changes):
    sleeps = Sleeps()
    session = requests.Session()
    session.trust_env = False  # never through a proxy: the server is on loopback
    return RandomUserClient(_settings(url, **changes), session=session, sleep=sleeps), sleeps


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ retries
def test_retries_through_every_failure_kind_then_succeeds(api):
    api.script = [
        (429, {"Retry-After": "1"}, {"error": "Rate limit exceeded"}),
        (503, {"Content-Type": "text/html"}, OUTAGE_HTML),
        (200, {}, {"error": "Uh oh, something has gone wrong. Please tweet us @randomapi about the issue."}),
        (200, {}, {"results": [], "info": {"seed": "abc", "results": 1, "page": 1, "version": "1.4"}}),
        "auto",
    ]
    client, sleeps = _client(api.url)
    started = time.monotonic()
    body = client.fetch(results=3, seed="abc")
    elapsed = time.monotonic() - started

    assert len(body["results"]) == 3
    assert body["results"] == generator.generate_users(3, seed="abc", as_of=AS_OF)
    assert len(api.requests) == 5
    assert all(r["path"] == "/api/1.4/" and r["query"]["results"] == "3" for r in api.requests)
    hist = client.history
    assert [h["status"] for h in hist] == [429, 503, 200, 200, 200]
    assert "429" in hist[0]["reason"] and "Rate limit exceeded" in hist[0]["reason"]
    assert "503" in hist[1]["reason"] and "Service Temporarily Unavailable" in hist[1]["reason"]
    assert "error body" in hist[2]["reason"] and "Uh oh" in hist[2]["reason"]
    assert "0 of 3 users" in hist[3]["reason"]
    # Retry-After honoured exactly; the others: exponential backoff with jitter (base 0.01 s)
    assert sleeps.calls[0] == pytest.approx(1.0)
    for attempt, wait in zip((2, 3, 4), sleeps.calls[1:], strict=True):
        delay = 0.01 * 2 ** (attempt - 1)
        assert delay / 2 <= wait <= delay
    assert len(sleeps.calls) == 4
    assert 1.0 <= api.requests[1]["time"] - api.requests[0]["time"] < 1.9
    assert elapsed < 5


def test_gives_up_after_the_last_attempt_with_a_clear_error(api):
    api.script = [(503, {"Content-Type": "text/html"}, OUTAGE_HTML)] * 3 + ["auto"]
    client, sleeps = _client(api.url, api_retries=3)
    with pytest.raises(SourceError) as err:
        client.fetch(results=2, nat="gb,fr", seed="zz")
    e = err.value
    assert len(api.requests) == 3  # no fourth call
    assert len(sleeps.calls) == 2  # no pause after the last attempt
    assert e.attempts == 3 and e.last_status == 503
    assert api.url in e.url and "results=2" in e.url and "nat=GB%2CFR" in e.url
    text = str(e)
    assert "after 3 attempt(s)" in text and "HTTP 503" in text and api.url in text


def test_empty_results_every_time_is_an_error(api):
    empty = (200, {}, {"results": [], "info": {"seed": "s", "results": 1, "page": 1, "version": "1.4"}})
    api.script = [empty, empty]
    client, _ = _client(api.url, api_retries=2)
    with pytest.raises(SourceError, match=r"0 of 1 users \(info.results=1\)"):
        client.fetch()


def test_html_answer_with_status_200_is_retried(api):
    api.script = [(200, {"Content-Type": "text/html"}, OUTAGE_HTML), "auto"]
    client, _ = _client(api.url)
    assert len(client.fetch(results=1, seed="h")["results"]) == 1
    assert "not an API response" in client.history[0]["reason"]


def test_timeout_is_retried(api):
    api.script = [("sleep", 1.0, "auto"), "auto"]
    client, _ = _client(api.url, api_timeout=0.3)
    body = client.fetch(results=1, seed="t")
    assert len(body["results"]) == 1
    assert client.history[0]["reason"].startswith("timeout")


def test_connection_refused():
    client, sleeps = _client(f"http://127.0.0.1:{_free_port()}/api/1.4/", api_retries=2)
    with pytest.raises(SourceError) as err:
        client.fetch()
    assert err.value.attempts == 2 and err.value.last_status is None
    assert "connection error" in err.value.last_reason
    assert len(sleeps.calls) == 1


def test_client_errors_are_not_retried(api):
    api.script = [(404, {"Content-Type": "text/html"}, "<html><title>404 Not Found</title></html>")]
    client, sleeps = _client(api.url)
    with pytest.raises(SourceError, match="HTTP 404") as err:
        client.fetch()
    assert err.value.attempts == 1 and len(api.requests) == 1 and not sleeps.calls


def test_retry_after_is_capped(api):
    api.script = [(429, {"Retry-After": "3600"}, {"error": "slow down"}), "auto"]
    client, sleeps = _client(api.url, api_backoff_max=0.2)
    client.fetch()
    assert sleeps.calls == [pytest.approx(0.2)]


def test_polite_minimum_interval(api):
    client, _ = _client(api.url, api_min_interval=0.3)
    client.fetch(seed="a")
    client.fetch(seed="b")
    client.fetch(seed="c")
    gaps = [b["time"] - a["time"] for a, b in zip(api.requests, api.requests[1:], strict=False)]
    assert all(gap >= 0.28 for gap in gaps), gaps


# ------------------------------------------------------------------ parameters
@pytest.mark.parametrize(
    "kwargs",
    [
        {"results": 0},
        {"results": 5001},
        {"results": "10"},
        {"results": True},
        {"results": 2.0},
        {"nat": "GB,XX"},
        {"nat": ["gb", "zz"]},
        {"seed": "a" * 18},
        {"page": 0},
        {"page": 10001},
        {"inc": "name,passport"},
        {"exc": ["bogus"]},
        {"gender": "other"},
    ],
)
def test_invalid_parameters_are_refused_before_any_call(api, kwargs):
    client, _ = _client(api.url)
    with pytest.raises(ValueError):
        client.fetch(**kwargs)
    assert api.requests == []


def test_parameters_sent(api):
    one = generator.generate_users(1, seed="one", as_of=AS_OF)[0]
    api.script = [(200, {}, {"results": [one] * 5000, "info": {}})]
    client, _ = _client(api.url)
    client.fetch(results=5000, nat=["gb", "Fr"], seed="s" * 17, page=2, inc="name, login,dob")
    client.fetch(results=1, seed="s" * 19, exc=["picture"])
    q1, q2 = api.requests[0]["query"], api.requests[1]["query"]
    assert q1 == {"results": "5000", "nat": "GB,FR", "seed": "s" * 17, "page": "2", "inc": "name,login,dob"}
    assert q2 == {"results": "1", "seed": "s" * 19, "exc": "picture"}


def test_gender_with_seed_warns(api):
    client, _ = _client(api.url)
    with pytest.warns(UserWarning, match="ignores gender"):
        client.fetch(gender="female", seed="g")


def test_every_nationality_is_accepted():
    params = RandomUserClient.build_params(nat=list(NATIONALITIES))
    assert params["nat"].split(",") == list(NATIONALITIES)


def test_paging_past_one_call(api):
    client, _ = _client(api.url)
    users = client.users(7, seed="paged", page_size=3)
    assert [r["query"].get("page") for r in api.requests] == ["1", "2", "3"]
    assert [r["query"]["results"] for r in api.requests] == ["3", "3", "1"]
    assert {r["query"]["seed"] for r in api.requests} == {"paged"}
    assert len(users) == 7 and len({u["login"]["uuid"] for u in users}) == 7
    with pytest.raises(ValueError):
        client.users(10, page_size=5001)


def test_iter_users_uses_the_settings_seed(api):
    client, _ = _client(api.url, seed="from-settings")
    client.users(2)
    assert api.requests[0]["query"]["seed"] == "from-settings"


# ------------------------------------------------------------------ samples
def test_load_samples_formats(tmp_path):
    users = generator.generate_users(6, seed="files", as_of=AS_OF)
    env = {"results": users[:3], "info": {"seed": "files", "results": 3, "page": 1, "version": "1.4"}}
    (tmp_path / "a_envelope.json").write_text(json.dumps(env, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b_single.json").write_text(json.dumps(users[3]), encoding="utf-8")
    lines = [json.dumps(users[4]), "", json.dumps({"results": [users[5]], "info": {}})]
    (tmp_path / "c_lines.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("not data")
    assert samples.load_samples(tmp_path) == users
    assert samples.load_samples(tmp_path / "b_single.json") == [users[3]]
    (tmp_path / "d_bad.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="d_bad.json"):
        samples.load_samples(tmp_path)
    with pytest.raises(FileNotFoundError):
        samples.load_samples(tmp_path / "missing")


def test_shipped_samples():
    users = samples.load_samples()
    assert len(users) == 58 and len({u["login"]["uuid"] for u in users}) == 58
    assert {u["nat"] for u in users} == set(NATIONALITIES)
    assert all(list(u) == list(users[0]) for u in users)
    pcs = {u["nat"]: type(u["location"]["postcode"]) for u in users}
    assert all(pcs[n] is str for n in ("CA", "GB", "NL", "NO")) and pcs["US"] is int
    assert any(u["nat"] == "NO" and u["location"]["postcode"].startswith("0") for u in users)
    assert all(u["id"]["value"] is None for u in users if u["nat"] in ("IR", "NZ", "TR", "UA"))
    outcomes = [generator.expected_outcome(u, AS_OF) for u in users]
    assert outcomes.count("filtered_minor") == 7
    assert sum(len(generator.full_address(u).encode()) > 100 for u in users) >= 8


# ------------------------------------------------------------------ choosing a source
def test_users_from_generator_and_samples():
    settings = _settings("http://127.0.0.1:9/api/1.4/")
    assert sources.users_from("generator", 12, seed="x", settings=settings) == generator.generate_users(
        12, seed="x", as_of=AS_OF
    )
    assert sources.users_from("generator", 3, settings=settings) == generator.generate_users(
        3, seed="profilepipe", as_of=AS_OF
    )
    gb = sources.users_from("samples", None, nat="gb", settings=settings)
    assert gb and {u["nat"] for u in gb} == {"GB"}
    assert len(sources.users_from("samples", 5, settings=settings)) == 5
    with pytest.raises(ValueError):
        sources.users_from("web", 5, settings=settings)
    with pytest.raises(ValueError):
        sources.users_from("generator", 5, nat="XX", settings=settings)


def test_users_from_api_raises_without_network():
    settings = _settings(f"http://127.0.0.1:{_free_port()}/api/1.4/", api_retries=1)
    with pytest.raises(SourceError):
        sources.users_from("api", 5, settings=settings)


def test_users_from_api(api, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    users = sources.users_from("api", 4, seed="apiseed", nat="NO", settings=_settings(api.url))
    assert users == generator.generate_users(4, seed="apiseed", as_of=AS_OF)
    assert api.requests[0]["query"]["nat"] == "NO"


def test_fallback_to_generator_with_a_note():
    settings = _settings(f"http://127.0.0.1:{_free_port()}/api/1.4/", api_retries=5)
    started = time.monotonic()
    users, used, note = sources.users_with_fallback(10, seed="fb", settings=settings)
    assert time.monotonic() - started < 3
    assert used == "generator"
    assert users == generator.generate_users(10, seed="fb", as_of=AS_OF)
    assert "unavailable" in note and "generator" in note


def test_fallback_not_needed(api):
    client, _ = _client(api.url)
    users, used, note = sources.users_with_fallback(3, seed="ok", settings=client.settings, client=client)
    assert used == "api" and len(users) == 3 and api.url in note
