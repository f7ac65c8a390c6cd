"""The console's checkout settings, over HTTP: saved together or not at all, refused per
field, seen by the next buyer; and the live preview, which is the buyer's page itself in the
form's look, framed by the console alone."""

from __future__ import annotations

import re

from tests.buyer import clients, new_payment, path_of, query
from tests.console import TEST_PASSWORD, add_user, csrf_of, signed_in
from tests.server import LiveServer

PAGE = "/console/m/mer_demo/settings"
GOOD = {"name": "Tea & Co", "logo_url": "https://cdn.tea.example/logo.svg",
        "accent_color": "#0B3D91", "language": "en",
        "return_origins": "https://tea.example\nhttp://127.0.0.1:*",
        "embed_origins": "https://tea.example"}


def test_a_developer_changes_the_look_and_the_next_buyer_sees_it(server: LiveServer) -> None:
    dev = add_user(server.settings.db_url, "dev@shop.example", "mer_demo", "developer")
    with signed_in(server, dev, TEST_PASSWORD) as client:
        saved = client.post(PAGE, data={"csrf": csrf_of(client, PAGE), **GOOD})
        assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
        page = client.get(PAGE).text
        assert 'value="Tea &amp; Co"' in page and "https://tea.example" in page
    with clients(server) as (api, buyer):
        payment = new_payment(api, server.url)
        seen = buyer.get(path_of(payment["checkout_url"]))
        assert "Tea &amp; Co" in seen.text and "/brand/accent/0b3d91.css" in seen.text
        assert 'lang="en"' in seen.text  # the default language, the browser asking none
        assert "frame-ancestors https://tea.example" in seen.headers["content-security-policy"]
        moved = api.post("/api/v1/payments", json={
            "amount": 100_00, "currency": "RUB", "description": "x",
            "return_url": "https://tea.example/thanks"})
        assert moved.status_code == 201  # the new return origin is in force
    detail = query(server.settings.db_url, "SELECT detail FROM audit_log WHERE action = "
                   "'settings.update'")
    assert len(detail) == 1 and "Tea & Co" in detail[0][0]


def test_bad_settings_are_refused_per_field_and_nothing_is_saved(server: LiveServer) -> None:
    before = query(server.settings.db_url, "SELECT * FROM merchants WHERE id = 'mer_demo'")
    with signed_in(server) as client:
        csrf = csrf_of(client, PAGE)
        for field, value in (("name", ""), ("logo_url", "javascript:alert(1)"),
                             ("accent_color", "#777"), ("accent_color", "red"),
                             ("language", "fr"), ("return_origins", "tea.example"),
                             ("return_origins", ""), ("embed_origins", "https://x.example/p")):
            refused = client.post(PAGE, data={"csrf": csrf, **{**GOOD, field: value}})
            assert refused.status_code == 422, (field, value)
            assert f'id="{field}-error"' in refused.text, (field, value)
            assert 'role="alert"' in refused.text
        assert client.post(PAGE, data={"csrf": csrf}).status_code == 422  # not its form
    assert query(server.settings.db_url, "SELECT * FROM merchants WHERE id = 'mer_demo'") == \
        before
    assert query(server.settings.db_url, "SELECT count(*) FROM audit_log WHERE action = "
                 "'settings.update'") == [(0,)]


def test_the_preview_is_the_buyers_page_in_the_unsaved_look(server: LiveServer) -> None:
    with signed_in(server) as client:
        frames = client.get(PAGE + "/frames", params={**GOOD, "name": "Kettle Bros"}).text
        srcs = [s.replace("&amp;", "&") for s in re.findall(r'<iframe src="([^"]+)"', frames)]
        assert len(srcs) == 2 and all("Kettle+Bros" in s for s in srcs)
        assert "csrf" not in frames
        desktop, phone = (client.get(s) for s in srcs)
        for shown in (desktop, phone):
            assert shown.status_code == 200 and "Kettle Bros" in shown.text
            assert "/brand/accent/0b3d91.css" in shown.text
            assert shown.headers["content-security-policy"].endswith("frame-ancestors 'self'")
            assert 'lang="en"' in shown.text
        assert "qr-code" in desktop.text and "qr-code" not in phone.text
        # A value the save would refuse is left out of the preview, not drawn.
        bad = client.get(PAGE + "/preview", params={**GOOD, "accent_color": "#12345",
                                                     "logo_url": "javascript:x"})
        assert "/brand/accent/" not in bad.text and "javascript:" not in bad.text
        assert client.get(PAGE + "/preview", params={"device": "fridge"}).status_code == 404
    # Saved: nothing of it.
    assert query(server.settings.db_url, "SELECT name FROM merchants WHERE id = 'mer_demo'") \
        == [("Demo shop",)]


def test_the_flows_problems_are_shown_in_the_pages_language(server: LiveServer) -> None:
    from checkout.pages.i18n import say

    with signed_in(server) as client:
        csrf = csrf_of(client, PAGE)
        ru = {"Accept-Language": "ru"}
        refused = client.post(PAGE, headers=ru, data={"csrf": csrf, **GOOD,
                                                      "return_origins": "tea.example"})
        assert "tea.example&#39; — не адрес вида https://shop.example[:port]" in refused.text
        bad_url = client.post("/console/m/mer_demo/webhooks/add", headers=ru,
                              data={"csrf": csrf, "url": "ftp://shop.example/hook"})
        assert "адрес должен начинаться с http:// или https://" in bad_url.text
    # What varies is put back in; a sentence no entry knows stays as it was.
    assert say("a merchant may have 16 endpoints; delete one first", "ka").startswith(
        "გამყიდველს შეიძლება ჰქონდეს მაქსიმუმ 16")
    assert say("something the catalogue never heard of", "ru") == \
        "something the catalogue never heard of"
