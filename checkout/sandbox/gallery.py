"""Every state of the checkout page, side by side (sandbox only), for designers and reviewers.

`/sandbox/gallery` lists them; `/sandbox/gallery/<state>?ua=iphone&lang=ka` renders one with
sample data, as that device sees it. Nothing is stored and nothing can be paid: the forms and
polls point at a checkout token that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from checkout.flow.context import FlowContext
from checkout.pages.samples import STATES, USER_AGENTS, sample
from checkout.pages.templating import render
from checkout.store.records import Attempt, Merchant, Payment

# The buyer's page, handed in by the app: the sandbox shows it but does not build it.
ShowPage = Callable[[Request, FlowContext, Payment, Merchant, Attempt | None, str], Response]


async def index(request: Request) -> Response:
    return render(request, "sandbox/gallery.html", states=list(STATES),
                  devices=list(USER_AGENTS), lang="en")


def routes(show_page: ShowPage) -> list[Route]:
    async def one(request: Request) -> Response:
        state = request.path_params["state"]
        ua_name = request.query_params.get("ua", "desktop")
        if state not in STATES or ua_name not in USER_AGENTS:
            return Response("Unknown state or device", status_code=404, media_type="text/plain")
        ctx: FlowContext = request.app.state.flow
        payment, merchant, attempt = sample(ctx.acquirers, ctx.now(), state)
        return show_page(request, ctx, payment, merchant, attempt, USER_AGENTS[ua_name])

    return [
        Route("/sandbox/gallery", index, methods=["GET"]),
        Route("/sandbox/gallery/{state}", one, methods=["GET"]),
    ]
