"""For whoever runs the checkout: health probes and metrics (its pages are the console's,
at `/console/operator`)."""

from checkout.web.operator import health, metrics_endpoint

routes = [*health.routes, *metrics_endpoint.routes]
