"""The buyer's checkout page: the page, its status poll, its device detection and QR code."""

from checkout.web.buyer import link_page, page

routes = [*page.routes, *link_page.routes]
