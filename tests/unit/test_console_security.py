"""The admin console's locks: every route behind a login, CSRF on every form post,
the lock-out, cookie flags and the API's bearer token (TestClient, no broker)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from engage_sync.connection.model import ApiCalls, Org, Status
from engage_sync.console.app import SESSION_COOKIE, create_app, listed_routes
from engage_sync.console.nav import PAGES
from engage_sync.console.security import LockOut, hash_password, verify_password
from ground.settings import ConfigError, ConsoleSettings, load

PASSWORD = "correct horse battery"
TOKEN = "api-token-for-tests-0123456789"
HASH = hash_password(PASSWORD)
ORG_ID = "00D5e0000000001EAA"
# Reachable without a login, and carrying no data: nothing else may be.
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("GET", "/healthz")}


def _status() -> Status:
    return Status(
        taken_at=datetime.now(UTC),
        org=Org(org_id=ORG_ID, integration_user="integration@example.org"),
        api=ApiCalls(our_share=0.5),
    )


def _settings(**env: str) -> ConsoleSettings:
    return load(
        ConsoleSettings,
        **{"CONSOLE_PASSWORD_HASH": HASH, "CONSOLE_API_TOKEN": TOKEN} | env,
    )


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(_settings(), _status), follow_redirects=False)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field in the form"
    return found.group(1)


def _login(client: TestClient, password: str = PASSWORD) -> object:
    token = _csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": "admin", "password": password, "csrf_token": token},
    )


def _routes(client: TestClient) -> list[tuple[str, str]]:
    """Every (method, path) the app's router serves, static files left aside."""
    out = listed_routes(client.app.routes)  # type: ignore[attr-defined]
    assert len(out) >= len(PAGES) + 5, out
    return out


def test_every_route_without_a_session_is_refused_or_sent_to_login(
    client: TestClient,
) -> None:
    routes = _routes(client)
    assert PUBLIC <= set(routes)
    for method, path in routes:
        if (method, path) in PUBLIC:
            continue
        answer = client.request(method, path)
        if path.startswith("/api/"):
            assert answer.status_code == 401, (method, path)
            assert answer.headers["www-authenticate"] == "Bearer"
        else:
            assert answer.status_code == 303, (method, path)
            assert answer.headers["location"].startswith("/login?next=")


def test_healthz_is_open_and_carries_no_data(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/static/console.css").status_code == 200


def test_every_post_route_without_its_csrf_token_is_refused(
    client: TestClient,
) -> None:
    assert _login(client).status_code == 303  # type: ignore[attr-defined]
    posts = [path for method, path in _routes(client) if method == "POST"]
    assert "/logout" in posts and "/login" in posts
    for path in posts:
        for data in ({}, {"csrf_token": "forged"}):
            answer = client.post(path, data=data)
            assert answer.status_code == 403, (path, data)
    # Still logged in: the refused logout did nothing.
    assert client.get("/connection").status_code == 200


def test_login_form_post_needs_the_forms_own_token(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"username": "admin", "password": PASSWORD})
    assert answer.status_code == 403
    assert SESSION_COOKIE not in client.cookies


def test_a_second_login_page_does_not_void_the_form_already_shown(
    client: TestClient,
) -> None:
    token = _csrf(client.get("/login").text)
    client.get("/favicon.ico")  # a browser's own request, sent to /login
    client.get("/login")
    answer = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303


@pytest.mark.parametrize(
    "target", ["//evil.example", "/\\evil.example", "https://evil.example"]
)
def test_login_never_redirects_to_another_site(client: TestClient, target: str) -> None:
    token = _csrf(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrf_token": token,
            "next": target,
        },
    )
    assert answer.headers["location"] == "/connection"


def test_login_then_every_page_of_the_navigation_bar_renders(
    client: TestClient,
) -> None:
    answer = _login(client)
    assert answer.headers["location"] == "/connection"  # type: ignore[attr-defined]
    page = client.get("/connection")
    assert ORG_ID in page.text and "integration@example.org" in page.text
    for p in PAGES:
        html = client.get(f"/{p.slug}").text
        assert all(f'href="/{q.slug}"' in html for q in PAGES)
        assert ("Not yet available" in html) is (not p.built), p.slug
    assert HASH not in page.text and TOKEN not in page.text


def test_five_wrong_passwords_lock_logins_even_the_right_one_until_it_passes(
    client: TestClient,
) -> None:
    now = [1000.0]
    console = client.app.state.console  # type: ignore[attr-defined]
    console.lockout = LockOut(5, 900, 900, clock=lambda: now[0])
    for attempt in range(4):
        answer = _login(client, "wrong")
        assert answer.status_code == 401, attempt  # type: ignore[attr-defined]
        assert "Wrong user name or password" in answer.text  # type: ignore[attr-defined]
    fifth = _login(client, "wrong")
    assert fifth.status_code == 429  # type: ignore[attr-defined]
    assert "locked for 15 more minutes" in fifth.text  # type: ignore[attr-defined]
    assert _login(client).status_code == 429  # type: ignore[attr-defined]
    assert SESSION_COOKIE not in client.cookies
    now[0] += 901
    assert _login(client).status_code == 303  # type: ignore[attr-defined]


def test_failures_older_than_the_window_do_not_count() -> None:
    now = [0.0]
    lock = LockOut(5, 900, 900, clock=lambda: now[0])
    for _ in range(4):
        lock.failed()
    now[0] += 901
    lock.failed()
    assert lock.locked_for() == 0


def test_session_cookie_is_httponly_and_samesite_and_secure_only_over_tls() -> None:
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        client = TestClient(
            create_app(_settings(), _status), base_url=base, follow_redirects=False
        )
        answer = _login(client)
        cookie = next(
            c
            for c in answer.headers.get_list("set-cookie")  # type: ignore[attr-defined]
            if c.startswith(SESSION_COOKIE)
        )
        flags = {f.strip().lower() for f in cookie.split(";")[1:]}
        assert "httponly" in flags and "samesite=strict" in flags, cookie
        assert ("secure" in flags) is secure, cookie


def _cookie_flags(settings: ConsoleSettings, proto: str) -> dict[str, set[str]]:
    """The flags of the login form's and the session's cookies, as a proxy that
    forwards `proto` sees them (cookies sent back by hand: a Secure one would not
    go back over the test client's plain HTTP)."""
    client = TestClient(
        create_app(settings, _status),
        base_url="http://testserver",
        headers={"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.9"},
        follow_redirects=False,
    )
    form = client.get("/login")
    sent = form.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    back = "; ".join(c.split(";")[0] for c in sent)
    client.cookies.clear()
    answer = client.post(
        "/login",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrf_token": _csrf(form.text),
        },
        headers={"Cookie": back},
    )
    sent += answer.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return {
        c.split("=")[0]: {f.strip().lower() for f in c.split(";")[1:]}
        for c in sent
        if "max-age=0" not in c.lower()  # deletions
    }


def test_behind_a_trusted_tls_proxy_the_session_cookie_is_secure() -> None:
    # TestClient's peer is "testclient": trusting it stands for trusting the proxy.
    behind = _settings(CONSOLE_TRUSTED_PROXIES="testclient")
    over_tls = _cookie_flags(behind, "https")
    assert SESSION_COOKIE in over_tls and len(over_tls) == 2, over_tls
    assert all("secure" in flags for flags in over_tls.values()), over_tls
    plain = _cookie_flags(behind, "http")
    assert SESSION_COOKIE in plain
    assert not any("secure" in flags for flags in plain.values()), plain


def test_forwarded_headers_from_an_untrusted_peer_change_nothing() -> None:
    for settings in (_settings(), _settings(CONSOLE_TRUSTED_PROXIES="10.0.0.7")):
        flags = _cookie_flags(settings, "https")
        assert SESSION_COOKIE in flags
        assert not any("secure" in f for f in flags.values()), flags


def test_api_answers_the_bearer_token_and_refuses_a_wrong_one(
    client: TestClient,
) -> None:
    good = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.get("/api/v1/status", headers=good)
    assert answer.status_code == 200
    assert answer.json()["org"]["org_id"] == ORG_ID
    assert client.get("/api/v1/openapi.json", headers=good).json()["paths"]
    bad = {"Authorization": "Bearer not-it"}
    assert client.get("/api/v1/status", headers=bad).status_code == 401


def test_api_is_closed_without_a_configured_token() -> None:
    client = TestClient(
        create_app(load(ConsoleSettings, CONSOLE_PASSWORD_HASH=HASH), _status)
    )
    assert (
        client.get("/api/v1/status", headers={"Authorization": "Bearer "}).status_code
        == 401
    )


def test_password_hash_from_a_file_and_bad_hashes_name_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "hash"
    path.write_text(HASH + "\n")
    settings = load(ConsoleSettings, CONSOLE_PASSWORD_HASH_FILE=str(path))
    assert verify_password(PASSWORD, settings.admin_password_hash())
    assert not verify_password("wrong", settings.admin_password_hash())
    assert "CONSOLE_PASSWORD_HASH" not in repr(settings.password_hash)
    with pytest.raises(ConfigError, match="CONSOLE_PASSWORD_HASH or"):
        load(ConsoleSettings)
    with pytest.raises(ConfigError, match="engage-sync hash-password"):
        load(ConsoleSettings, CONSOLE_PASSWORD_HASH="plain-text")
    with pytest.raises(ConfigError, match="CONSOLE_PORT"):
        load(ConsoleSettings, CONSOLE_PASSWORD_HASH=HASH, CONSOLE_PORT="70000")


def test_console_binds_to_loopback_by_default() -> None:
    assert _settings().host == "127.0.0.1"
