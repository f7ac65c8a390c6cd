"""For whoever runs the checkout: health probes, metrics and the read-only admin view."""

from checkout.web.operator import admin_view, health, metrics_endpoint

routes = [*health.routes, *metrics_endpoint.routes, *admin_view.routes]
