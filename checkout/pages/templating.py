"""Jinja2 environment shared by every page, and one render helper."""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from checkout.pages.assets import HTMX_FILE, fingerprints
from checkout.pages.i18n import MESSAGES, format_money, format_quantity, pick_language, say
from checkout.settings import ROOT, Settings


def make_environment(settings: Settings) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(ROOT / "templates")),
        autoescape=select_autoescape(["html"]),
        enable_async=False,
        auto_reload=False,
    )
    versions = fingerprints()
    env.globals.update(sandbox=settings.sandbox,
                       asset=lambda name: f"/static/{name}?v={versions[name]}",
                       htmx_file=HTMX_FILE)
    env.filters["money"] = lambda amount, currency, lang="en": format_money(amount, currency,
                                                                            lang)
    env.filters["quantity"] = lambda quantity, lang="en": format_quantity(quantity, lang)
    # A problem in the page's language: `{{ error|say }}` (see `checkout.pages.i18n.say`).
    env.filters["say"] = pass_context(lambda ctx, message: say(str(message), ctx["lang"]))
    return env


def render(request: Request, name: str, status: int = 200,
           headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    env: Environment = request.app.state.templates
    lang = context.pop("lang", None) or pick_language(request)
    html = env.get_template(name).render(request=request, lang=lang, t=MESSAGES[lang],
                                         **context)
    return HTMLResponse(html, status_code=status, headers=headers)
