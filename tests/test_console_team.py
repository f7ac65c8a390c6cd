"""A merchant's team: invitations by one-time link (shown once, kept as a hash, used once,
expiring), a new colleague's first password, roles changed and members removed, never the
last owner; and the audit log saying who did what."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from tests.buyer import query
from tests.console import TEST_PASSWORD, add_user, csrf_of, hidden, signed_in
from tests.server import LiveServer

TEAM = "/console/m/mer_demo/team"


def _invite(client: httpx.Client, email: str, role: str) -> str:
    made = client.post(f"{TEAM}/invite", data={"csrf": csrf_of(client, TEAM), "email": email,
                                               "role": role})
    assert made.status_code == 201, made.text
    link = re.search(r'value="(http[^"]+/console/invite/[^"]+)"', made.text)
    assert link, "the invitation link is not on the page"
    return link.group(1)


def _accept(server: LiveServer, link: str, password: str, again: str | None = None
            ) -> httpx.Response:
    with httpx.Client(timeout=20, headers={"Accept-Language": "en"}) as fresh:
        form = fresh.get(link)
        assert form.status_code == 200, form.text
        data = {"csrf": hidden(form.text, "csrf"), "password": password}
        if "again" in form.text:
            data["again"] = password if again is None else again
        resp = fresh.post(link, data=data)
        if resp.status_code == 303:  # signed in: the page it leads to works with the cookie
            landed = fresh.get(httpx.URL(link).join(resp.headers["location"]))
            assert landed.status_code == 200, landed.text
        return resp


def test_an_owner_invites_a_developer_who_joins_once(server: LiveServer) -> None:
    with signed_in(server) as owner:
        link = _invite(owner, "Dev@Shop.Example", "developer")
        token = link.rsplit("/", 1)[1]
        # Shown once: the team page after shows the invitation, not its link.
        page = owner.get(TEAM).text
        assert "dev@shop.example" in page and token not in page
    stored = query(server.settings.db_url, "SELECT id_hash, email, role FROM console_invites")
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(), "dev@shop.example",
                       "developer")]
    assert _accept(server, link, "short", None).status_code == 422  # the policy, then retry
    assert _accept(server, link, "a long new password", "another").status_code == 422
    joined = _accept(server, link, "a long new password")
    assert joined.status_code == 303 and joined.headers["location"] == \
        "/console/m/mer_demo/payments"
    assert httpx.get(link).status_code == 404  # used: gone
    with signed_in(server, "dev@shop.example", "a long new password") as dev:
        assert "developer" in dev.get("/console/m/mer_demo/payments").text
        assert dev.get(TEAM).status_code == 403  # a developer does not manage the team
    audit = query(server.settings.db_url, "SELECT action, email, target FROM audit_log WHERE "
                  "action LIKE 'team.%' ORDER BY at")
    assert audit == [("team.invite", "owner@demo.test", "dev@shop.example"),
                     ("team.join", "dev@shop.example", "dev@shop.example")]


def _page_shape(html: str, email: str) -> str:
    """An invitation page with what is meant to differ (the email, the tokens) taken out."""
    html = re.sub(r'value="[^"]*"', 'value=""', html.replace(email, "EMAIL"))
    return re.sub(r"/console/invite/[^\"&%]+|%2Fconsole%2Finvite%2F[^\"&]+", "LINK", html)


def test_a_colleague_with_an_account_joins_only_from_their_own_signed_in_session(
        server: LiveServer) -> None:
    """An owner can invite any email, an operator's too. The invitation never takes a
    password for an account that exists (the right one included: it gave a full session with
    the second factor skipped, unthrottled); that person signs in through the sign-in page,
    then takes the invitation with one press. The page looks the same whatever the email."""
    add_user(server.settings.db_url, "ann@shop.example")
    with signed_in(server) as owner:
        link = _invite(owner, "ann@shop.example", "support")
        other = _invite(owner, "nobody-yet@shop.example", "support")
    with httpx.Client(timeout=20, headers={"Accept-Language": "en"}) as stranger:
        assert _page_shape(stranger.get(link).text, "ann@shop.example") == \
            _page_shape(stranger.get(other).text, "nobody-yet@shop.example")
    for password in ["a wrong guess one", "a wrong guess two", TEST_PASSWORD]:
        tried = _accept(server, link, password)
        assert tried.status_code == 409, tried.text
        assert "console_session" not in tried.headers.get("set-cookie", "")
        assert "sign in to it to accept" in tried.text
    members = "SELECT count(*) FROM memberships m JOIN console_users u ON u.id = m.user_id " \
        "WHERE u.email = 'ann@shop.example'"
    assert query(server.settings.db_url, members) == [(0,)]
    base = str(httpx.URL(link).copy_with(path="/", query=None))
    with httpx.Client(base_url=base, timeout=20, headers={"Accept-Language": "en"}) as ann:
        page = ann.get(link)
        sign_in = re.search(r'href="(/console/login\?next=[^"]+)"', page.text)
        assert sign_in, page.text
        form = ann.get(sign_in.group(1).replace("&amp;", "&"))
        signed = ann.post("/console/login", data={
            "csrf": hidden(form.text, "csrf"), "next": hidden(form.text, "next"),
            "email": "ann@shop.example", "password": TEST_PASSWORD})
        assert signed.status_code == 303 and signed.headers["location"] == httpx.URL(link).path
        button = ann.get(link)
        assert 'data-action="join"' in button.text and 'name="password"' not in button.text
        joined = ann.post(link, data={"csrf": hidden(button.text, "csrf")})
        assert joined.status_code == 303, joined.text
        assert "support" in ann.get(joined.headers["location"]).text
    assert query(server.settings.db_url, members) == [(1,)]
    audit = query(server.settings.db_url, "SELECT action FROM audit_log WHERE email = "
                  "'ann@shop.example' ORDER BY at")
    assert [a for (a,) in audit] == ["sign_in", "team.join"]


def test_an_invitation_is_not_taken_by_another_signed_in_account(server: LiveServer) -> None:
    with signed_in(server) as owner:
        link = _invite(owner, "bob@shop.example", "viewer")
        page = owner.get(link)
        assert page.status_code == 200 and 'id="other-account"' in page.text
        taken = owner.post(link, data={"csrf": csrf_of(owner)})
        assert taken.status_code == 409
    assert query(server.settings.db_url, "SELECT count(*) FROM console_invites WHERE used_at "
                 "IS NULL") == [(1,)]


@pytest.mark.server_settings(console_invite_hours=0.5 / 3600)
def test_an_invitation_expires(server: LiveServer) -> None:
    import time

    with signed_in(server) as owner:
        link = _invite(owner, "late@shop.example", "viewer")
    time.sleep(1.0)
    assert httpx.get(link).status_code == 404
    assert httpx.post(link, data={"password": "a long new password"}).status_code == 404


def test_roles_change_members_go_and_the_last_owner_stays(server: LiveServer) -> None:
    add_user(server.settings.db_url, "sam@shop.example", "mer_demo", "support")
    sam = query(server.settings.db_url, "SELECT id FROM console_users WHERE email = "
                "'sam@shop.example'")[0][0]
    me = query(server.settings.db_url, "SELECT id FROM console_users WHERE email = "
               "'owner@demo.test'")[0][0]
    with signed_in(server) as owner, signed_in(server, "sam@shop.example",
                                               TEST_PASSWORD) as sam_client:
        csrf = csrf_of(owner, TEAM)
        # The only owner cannot stop being one, nor leave.
        for action, data in (("role", {"role": "viewer"}), ("remove", {})):
            refused = owner.post(f"{TEAM}/{me}/{action}", data={"csrf": csrf, **data})
            assert refused.status_code == 409 and 'role="alert"' in refused.text
        assert owner.post(f"{TEAM}/{sam}/role", data={"csrf": csrf, "role": "king"}) \
            .status_code == 422
        assert owner.post(f"{TEAM}/{sam}/role", data={"csrf": csrf, "role": "viewer"}) \
            .status_code == 303
        assert "viewer" in sam_client.get("/console/m/mer_demo/payments").text
        # Sam made owner: now the first owner may step down.
        assert owner.post(f"{TEAM}/{sam}/role", data={"csrf": csrf, "role": "owner"}) \
            .status_code == 303
        assert owner.post(f"{TEAM}/{me}/role", data={"csrf": csrf, "role": "developer"}) \
            .status_code == 303
        assert owner.get(TEAM).status_code == 403  # a developer now
        csrf_sam = csrf_of(sam_client, TEAM)
        assert sam_client.post(f"{TEAM}/{me}/remove", data={"csrf": csrf_sam}) \
            .status_code == 303
        assert owner.get("/console/m/mer_demo/payments").status_code == 404  # out, at once
        audit = sam_client.get("/console/m/mer_demo/audit").text
    actions = re.findall(r'data-audit="(team\.[a-z]+)"', audit)
    assert actions == ["team.remove", "team.role", "team.role", "team.role"]  # newest first


def test_an_owner_revokes_an_invitation_and_its_link_stops(server: LiveServer) -> None:
    with signed_in(server) as owner:
        link = _invite(owner, "wrong@shop.example", "support")
        page = owner.get(TEAM).text
        invite_id = hidden(page.split('data-invite="wrong@shop.example"')[1], "invite")
        done = owner.post(f"{TEAM}/invite/revoke", data={"csrf": csrf_of(owner, TEAM),
                                                         "invite": invite_id})
        assert done.status_code == 303
        assert 'data-invite="wrong@shop.example"' not in owner.get(TEAM).text
        again = owner.post(f"{TEAM}/invite/revoke", data={"csrf": csrf_of(owner, TEAM),
                                                          "invite": invite_id})
        assert again.status_code == 404
    assert httpx.get(link).status_code == 404
    assert httpx.post(link, data={"password": "a long new password"}).status_code == 404
    audit = query(server.settings.db_url, "SELECT action, target FROM audit_log WHERE action = "
                  "'team.invite_revoked'")
    assert audit == [("team.invite_revoked", "wrong@shop.example")]
