"""The merchant API (`/api/v1`): for shops' servers, authenticated by API key."""

from checkout.web.merchant_api import (
    events,
    methods,
    openapi,
    operations,
    payment_links,
    payments,
    webhook_endpoints,
)

routes = [*payments.routes, *operations.routes, *methods.routes, *events.routes,
          *webhook_endpoints.routes, *payment_links.routes, *openapi.routes]
