"""Saved payment methods (recurring T-Pay tokens): reading and disabling one."""

from __future__ import annotations

from typing import Any

from checkout.errors import NotFound
from checkout.flow.context import FlowContext
from checkout.store import repo


async def get(ctx: FlowContext, merchant_id: str, method_id: str) -> Any:
    async with ctx.db.reader() as conn:
        row = await repo.payment_method(conn, method_id, merchant_id)
    if row is None:
        raise NotFound("no such payment method")
    return row


async def disable(ctx: FlowContext, merchant_id: str, method_id: str) -> Any:
    """At the acquirer first: a token we forget but the bank still honours is a risk. Safe to
    repeat: the acquirer's call carries a key of its own, and a disabled one stays so."""
    row = await get(ctx, merchant_id, method_id)
    if row.disabled_at is not None:
        return row
    driver = await ctx.drivers.get(row.acquirer, row.acquirer_account_id)
    await driver.disable_token(ctx.vault.open(row.token), f"{row.id}:disable")
    async with ctx.db.transaction() as conn:
        await repo.disable_payment_method(conn, method_id, ctx.now())
        return await repo.payment_method(conn, method_id, merchant_id)
