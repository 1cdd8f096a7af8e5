"""Amazon client details: a rotated refresh token reaches the vault before it is used."""

from __future__ import annotations

import asyncio

from plugins.amazon import AmazonSource
from sdk import SourceContext
from sdk.http import TokenSet


def test_a_new_refresh_token_is_saved_as_a_secret_before_use():
    saved = []

    async def save(credentials):
        saved.append(credentials)

    source = AmazonSource(
        AmazonSource.Options(seller_id="A1", region="na", marketplaces={"ATVPDKIKX0DER": "us"}),
        AmazonSource.Credentials(lwa_client_id="c", lwa_client_secret="s", refresh_token="Atzr|old"),
        SourceContext("amz", save_credentials=save),
    )

    async def rotate():
        await source.clients._persist(TokenSet(access_token="Atza|x", expires_at=0, refresh_token="Atzr|new"))
        await source.clients._persist(TokenSet(access_token="Atza|y", expires_at=0, refresh_token="Atzr|new"))
        await source.aclose()

    asyncio.run(rotate())
    assert len(saved) == 1, "saved once, when the token changed"
    assert saved[0].refresh_token.get_secret_value() == "Atzr|new"
    assert source.credentials.refresh_token.get_secret_value() == "Atzr|new"
    assert "Atzr|new" not in repr(saved[0])
