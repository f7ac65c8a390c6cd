"""Who may do what in a merchant's console: one role per user per merchant."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # everything, team and keys included
    DEVELOPER = "developer"  # keys, webhooks, checkout settings, payment links
    SUPPORT = "support"  # payments: refunds, cancels, captures; payment links
    VIEWER = "viewer"  # reads only


class Can(StrEnum):
    READ = "read"
    MOVE_MONEY = "move_money"  # capture, cancel, refund, resend an event
    MANAGE_KEYS = "manage_keys"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_TEAM = "manage_team"
    MANAGE_ACQUIRER = "manage_acquirer"  # the merchant's contracts: its acquirer accounts
    MANAGE_LINKS = "manage_links"  # make and deactivate payment links


GRANTS: dict[Role, frozenset[Can]] = {
    Role.OWNER: frozenset(Can),
    Role.DEVELOPER: frozenset({Can.READ, Can.MANAGE_KEYS, Can.MANAGE_WEBHOOKS,
                               Can.MANAGE_SETTINGS, Can.MANAGE_LINKS}),
    Role.SUPPORT: frozenset({Can.READ, Can.MOVE_MONEY, Can.MANAGE_LINKS}),
    Role.VIEWER: frozenset({Can.READ}),
}


def allows(role: Role, action: Can) -> bool:
    return action in GRANTS[role]
