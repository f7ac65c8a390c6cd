"""The merchant console, at `/console`: server-rendered pages for a merchant's staff and for
the deployment's operators (signed in with email and password, one role per merchant)."""

from checkout.web.console import (
    account,
    acquirer,
    actions,
    checkout_settings,
    keys,
    links,
    operator,
    payments,
    sign_in,
    team,
    webhooks,
)

routes = [*sign_in.routes, *account.routes, *payments.routes, *actions.routes, *team.routes,
          *webhooks.routes, *keys.routes, *checkout_settings.routes,
          *operator.routes, *acquirer.routes, *links.routes]
