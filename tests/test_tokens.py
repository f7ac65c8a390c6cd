"""Checkout tokens: signed with SHA-256, verified by any key in the rotation list."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import replace

from itsdangerous import URLSafeTimedSerializer

from checkout.settings import Settings
from checkout.web import tokens

OLD, NEW = "o" * 40, "n" * 40


def test_a_link_signed_with_the_old_key_still_works_after_rotation() -> None:
    before = replace(Settings(), secret_keys=(OLD,))
    after = replace(Settings(), secret_keys=(NEW, OLD))
    token = tokens.checkout_token(before, "pay_1")
    assert tokens.read_checkout_token(after, token) == "pay_1"
    assert tokens.read_checkout_token(replace(Settings(), secret_keys=(NEW,)), token) is None


def test_tokens_are_sha256_signed_and_tampering_is_refused() -> None:
    s = replace(Settings(), secret_keys=(NEW,))
    token = tokens.checkout_token(s, "pay_1")
    sha1 = URLSafeTimedSerializer([NEW], salt="checkout").dumps("pay_1")
    assert tokens.read_checkout_token(s, sha1) is None
    manual = URLSafeTimedSerializer([NEW], salt="checkout",
                                    signer_kwargs={"digest_method": hashlib.sha256})
    assert manual.loads(token) == "pay_1"
    other = base64.urlsafe_b64encode(b'"pay_2"').rstrip(b"=").decode()
    assert tokens.read_checkout_token(s, other + token[token.index("."):]) is None
    assert tokens.read_checkout_token(s, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
                                      ) is None


def test_too_old_tokens_are_refused(monkeypatch: object) -> None:
    s = replace(Settings(), secret_keys=(NEW,))
    token = tokens.checkout_token(s, "pay_1")
    assert tokens.read_checkout_token(s, token) == "pay_1"
    import time

    real = time.time
    monkeypatch.setattr(tokens.time, "time",  # type: ignore[attr-defined]
                        lambda: real() + tokens.TOKEN_MAX_AGE + 10)
    assert tokens.read_checkout_token(s, token) is None


def test_form_tokens_bind_purpose_and_payment() -> None:
    s = replace(Settings(), secret_keys=(NEW, OLD))
    ft = tokens.form_token(s, "attempt", "pay_1")
    assert tokens.form_token_ok(s, "attempt", "pay_1", ft)
    assert not tokens.form_token_ok(s, "attempt", "pay_2", ft)
    assert not tokens.form_token_ok(s, "other", "pay_1", ft)
    old = tokens.form_token(replace(s, secret_keys=(OLD,)), "attempt", "pay_1")
    assert tokens.form_token_ok(s, "attempt", "pay_1", old)
