"""Checkout tokens: signed with SHA-256, verified by any key in the rotation list, expiring."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from itsdangerous import URLSafeSerializer

from checkout.settings import Settings
from checkout.web.buyer import tokens

OLD, NEW = "o" * 40, "n" * 40
SOON = datetime.now(UTC) + timedelta(hours=1)


def keys(*k: str) -> Settings:
    return replace(Settings(), secret_keys=k)


def test_a_link_signed_with_the_old_key_still_works_after_rotation() -> None:
    token = tokens.checkout_token(keys(OLD), "pay_1", SOON)
    assert tokens.read_checkout_token(keys(NEW, OLD), token) == "pay_1"
    assert tokens.read_checkout_token(keys(NEW), token) is None


def test_the_same_payment_always_gets_the_same_link() -> None:
    assert tokens.checkout_token(keys(NEW), "pay_1", SOON) == \
        tokens.checkout_token(keys(NEW), "pay_1", SOON)


def test_tokens_are_sha256_signed_and_tampering_is_refused() -> None:
    token = tokens.checkout_token(keys(NEW), "pay_1", SOON)
    manual = URLSafeSerializer([NEW], salt="checkout",
                               signer_kwargs={"digest_method": hashlib.sha256})
    assert manual.loads(token)[0] == "pay_1"
    sha1 = URLSafeSerializer([NEW], salt="checkout").dumps(["pay_1", 2**40])
    assert tokens.read_checkout_token(keys(NEW), sha1) is None
    payload = json.dumps(["pay_2", 2**40], separators=(",", ":")).encode()
    other = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    assert tokens.read_checkout_token(keys(NEW), other + token[token.index("."):]) is None
    assert tokens.read_checkout_token(keys(NEW), "garbage") is None


def test_links_expire_a_grace_period_after_their_payment(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    token = tokens.checkout_token(keys(NEW), "pay_1", SOON)
    assert tokens.read_checkout_token(keys(NEW), token) == "pay_1"
    later = (SOON + tokens.LINK_GRACE + timedelta(seconds=5)).timestamp()
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    assert tokens.read_checkout_token(keys(NEW), token) is None


def test_form_tokens_bind_purpose_and_payment() -> None:
    s = keys(NEW, OLD)
    ft = tokens.form_token(s, "attempt", "pay_1")
    assert tokens.form_token_ok(s, "attempt", "pay_1", ft)
    assert not tokens.form_token_ok(s, "attempt", "pay_2", ft)
    assert not tokens.form_token_ok(s, "other", "pay_1", ft)
    old = tokens.form_token(keys(OLD), "attempt", "pay_1")
    assert tokens.form_token_ok(s, "attempt", "pay_1", old)
