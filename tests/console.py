"""Use the merchant console as a person with a browser does, over HTTP: sign in through the
form (its double-submit token included), then read pages and post forms with the session's
CSRF token. Written from the console's contract, not from its code."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.server import LiveServer

DEMO_OWNER, DEMO_PASSWORD = "owner@demo.test", "sandbox-owner-pass"
TEST_PASSWORD = "a long test password"  # noqa: S105 - the users tests add


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden {name} in the page"
    return match.group(1)


def sign_in_form(client: httpx.Client, email: str, password: str,
                 next_page: str = "") -> httpx.Response:
    form = client.get("/console/login" + (f"?next={next_page}" if next_page else ""))
    assert form.status_code == 200, form.text
    return client.post("/console/login", data={
        "csrf": hidden(form.text, "csrf"), "next": hidden(form.text, "next"),
        "email": email, "password": password})


@contextmanager
def signed_in(server: LiveServer, email: str = DEMO_OWNER,
              password: str = DEMO_PASSWORD) -> Iterator[httpx.Client]:
    """A client holding a console session, for the `with` block."""
    with httpx.Client(base_url=server.url, timeout=20,
                      headers={"Accept-Language": "en"}) as client:
        resp = sign_in_form(client, email, password)
        assert resp.status_code == 303, resp.text
        yield client


def csrf_of(client: httpx.Client, page: str = "/console/m/mer_demo/payments") -> str:
    """The session's CSRF token, as every page's forms carry it."""
    resp = client.get(page)
    assert resp.status_code == 200, resp.text
    return hidden(resp.text, "csrf")


def add_user(database_url: str, email: str, merchant_id: str = "", role: str = "",
             password: str = TEST_PASSWORD, operator: bool = False) -> str:
    """A console user written straight to the database (as `checkout console add-user` does,
    without a process per user); returns its email."""
    from datetime import UTC, datetime

    from checkout.domain.passwords import hash_password
    from tests.buyer import execute

    now = datetime.now(UTC).replace(tzinfo=None)
    user_id = "usr_" + hashlib.sha256(email.encode()).hexdigest()[:24]
    execute(database_url, "INSERT INTO console_users (id, email, password_hash, operator, "
            "created_at) VALUES (:id, :email, :h, :op, :now)", id=user_id, email=email,
            h=hash_password(password), op=operator, now=now)
    if merchant_id:
        execute(database_url, "INSERT INTO memberships (user_id, merchant_id, role, "
                "created_at) VALUES (:u, :m, :r, :now)", u=user_id, m=merchant_id, r=role,
                now=now)
    return email


def confirm_action(client: httpx.Client, path: str, **fields: str) -> httpx.Response:
    """An action as a person does it: the first POST asks to confirm; the confirm runs it.
    Returns the confirm's answer (and the confirm form, on the response's `.review`)."""
    csrf = csrf_of(client)
    review = client.post(path, data={"csrf": csrf, **fields})
    assert review.status_code == 200, review.text
    answer = client.post(path, data={"csrf": csrf, "confirm": "1",
                                     "key": hidden(review.text, "key"), **fields})
    answer.review = review  # type: ignore[attr-defined]
    return answer
