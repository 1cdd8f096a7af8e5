"""Token issue, expiry, refresh (long-lived and single-use), revocation, on an injected clock."""

from __future__ import annotations

import pytest

from sdk.simulator import Principal, TokenAuthority, TokenRefused, TokenRejection


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


def test_access_token_lives_for_its_ttl(clock):
    auth = TokenAuthority(clock=clock, access_ttl=3600)
    auth.register_client("app", "secret")
    grant = auth.grant("app", "seller-1")
    assert grant.expires_in == 3600
    assert grant.access_expires_at == clock.now + 3600
    assert auth.validate(grant.access_token) == Principal("app", "seller-1")
    clock.now += 3599
    assert auth.validate(grant.access_token) is not None
    clock.now += 1
    assert auth.validate(grant.access_token) is None
    assert auth.rejection(grant.access_token) is TokenRejection.EXPIRED
    assert auth.rejected[TokenRejection.EXPIRED] == 1


def test_unknown_missing_and_revoked_access_tokens_are_refused(clock):
    auth = TokenAuthority(clock=clock)
    auth.register_client("app", "secret")
    grant = auth.grant("app", "seller-1")
    assert auth.validate("made-up") is None
    assert auth.rejection("made-up") is TokenRejection.UNKNOWN
    assert auth.rejection(None) is TokenRejection.MISSING
    auth.revoke_access(grant.access_token)
    assert auth.validate(grant.access_token) is None
    assert auth.rejection(grant.access_token) is TokenRejection.REVOKED


def test_long_lived_refresh_token_keeps_working_and_stays_the_same(clock):
    auth = TokenAuthority(clock=clock, access_ttl=3600, access_prefix="Atza|", refresh_prefix="Atzr|")
    auth.register_client("app", "secret")
    first = auth.grant("app", "seller-1")
    assert first.access_token.startswith("Atza|") and first.refresh_token.startswith("Atzr|")
    assert first.refresh_expires_at is None
    clock.now += 10 * 3600
    assert auth.validate(first.access_token) is None
    second = auth.refresh(first.refresh_token, client_id="app", client_secret="secret")
    third = auth.refresh(first.refresh_token, client_id="app", client_secret="secret")
    assert second.refresh_token == third.refresh_token == first.refresh_token
    assert len({first.access_token, second.access_token, third.access_token}) == 3
    assert auth.validate(third.access_token) == Principal("app", "seller-1")
    assert (auth.issued, auth.refreshed) == (3, 2)


def test_single_use_refresh_token_rotates_and_the_old_one_is_refused(clock):
    auth = TokenAuthority(clock=clock, access_ttl=14400, refresh_ttl=30 * 86400, single_use_refresh=True)
    auth.register_client("partner", "key")
    first = auth.grant("partner", "shop-9")
    second = auth.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.refresh_expires_at == clock.now + 30 * 86400
    with pytest.raises(TokenRefused) as refused:
        auth.refresh(first.refresh_token)
    assert refused.value.reason is TokenRejection.USED
    third = auth.refresh(second.refresh_token)
    assert auth.validate(third.access_token) == Principal("partner", "shop-9")
    assert auth.validate(first.access_token) is not None, "old access tokens live out their ttl"
    assert auth.refreshed == 2 and auth.refused[TokenRejection.USED] == 1


def test_refresh_token_expiry_revocation_and_client_checks(clock):
    auth = TokenAuthority(clock=clock, refresh_ttl=100)
    auth.register_client("app", "secret")
    auth.register_client("other", "secret2")
    grant = auth.grant("app", "seller-1")
    with pytest.raises(TokenRefused, match="wrong_client"):
        auth.refresh(grant.refresh_token, client_id="other", client_secret="secret2")
    with pytest.raises(TokenRefused, match="wrong_client"):
        auth.refresh(grant.refresh_token, client_id="app", client_secret="not-it")
    with pytest.raises(TokenRefused, match="unknown"):
        auth.refresh("made-up")
    clock.now += 100
    with pytest.raises(TokenRefused, match="expired"):
        auth.refresh(grant.refresh_token)
    fresh = auth.grant("app", "seller-1")
    auth.revoke_refresh(fresh.refresh_token)
    with pytest.raises(TokenRefused, match="revoked"):
        auth.refresh(fresh.refresh_token)
    assert auth.refreshed == 0


def test_authorisation_codes_are_one_time_and_expire(clock):
    auth = TokenAuthority(clock=clock, code_ttl=600)
    client_id, secret = auth.register_client()
    assert auth.check_client(client_id, secret) and not auth.check_client(client_id, secret + "x")
    code = auth.issue_code(client_id, "shop-1")
    grant = auth.exchange_code(code, client_id=client_id, client_secret=secret)
    assert auth.validate(grant.access_token) == Principal(client_id, "shop-1")
    with pytest.raises(TokenRefused, match="used"):
        auth.exchange_code(code, client_id=client_id)
    late = auth.issue_code(client_id, "shop-1")
    clock.now += 600
    with pytest.raises(TokenRefused, match="expired"):
        auth.exchange_code(late, client_id=client_id)


def test_grant_needs_a_registered_client():
    with pytest.raises(KeyError, match="register"):
        TokenAuthority().grant("nobody", "seller")
