"""A merchant's payments in the console: the filtered list (keyset pages, waiting rows that
refresh themselves) and one payment's story."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from checkout.domain.money import CURRENCIES, Money
from checkout.domain.roles import Can
from checkout.domain.states import PaymentStatus
from checkout.flow import console
from checkout.settings import KNOWN_ACQUIRERS as ACQUIRERS
from checkout.store import console_reads
from checkout.store.console_reads import PaymentFilter
from checkout.web.console.access import HEADERS, Seat, at_merchant, page, refused
from checkout.web.plumbing.rate_limits import client_of

# Rows that may still change: the list asks for them again on its own.
LIVE = frozenset({PaymentStatus.PENDING.value, PaymentStatus.WAITING_FOR_CAPTURE.value})
LIVE_SECONDS = 5
FILTER_KEYS = ("status", "acquirer", "q", "from", "to", "min", "max")
# Every currency we take has two decimals, so an amount filter in major units means one
# thing for all of a merchant's payments (read as any of them: RUB's rules).
assert {c.exponent for c in CURRENCIES.values()} == {2}


class BadFilter(ValueError):
    """A filter the page cannot apply; the message names the field (a catalogue key)."""


def _day(text: str, field: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadFilter(field) from None


def _minor(text: str, field: str) -> int | None:
    if not text:
        return None
    try:
        return Money.from_major(text.replace(" ", "").replace("\u00a0", ""), "RUB").amount
    except ValueError:
        raise BadFilter(field) from None


def parse_filter(q: QueryParams) -> PaymentFilter:
    status, acquirer = q.get("status", ""), q.get("acquirer", "")
    if status and status not in {s.value for s in PaymentStatus}:
        raise BadFilter("console_filter_status")
    if acquirer and acquirer not in ACQUIRERS:
        raise BadFilter("console_filter_acquirer")
    to_day = _day(q.get("to", ""), "console_filter_to")
    f = PaymentFilter(status=status, acquirer=acquirer, search=q.get("q", "").strip()[:128],
                      created_from=_day(q.get("from", ""), "console_filter_from"),
                      created_to=to_day + timedelta(days=1) if to_day else None,
                      amount_min=_minor(q.get("min", ""), "console_filter_min"),
                      amount_max=_minor(q.get("max", ""), "console_filter_max"))
    return f


def _cursor(text: str) -> tuple[datetime, str] | None:
    if not text:
        return None
    when, _, pid = text.partition("|")
    try:
        return datetime.fromisoformat(when), pid
    except ValueError:
        raise BadFilter("console_filter_page") from None


def _list_context(request: Request, seat: Seat) -> dict[str, Any]:
    return {"seat": seat, "shown": {k: request.query_params.get(k, "") for k in FILTER_KEYS},
            "statuses": [s.value for s in PaymentStatus], "acquirers": ACQUIRERS,
            "live": LIVE, "live_seconds": LIVE_SECONDS}


def _bad_filter(request: Request, seat: Seat, bad: BadFilter) -> Response:
    return page(request, "console/payments.html", status=400, rows=[], error=str(bad),
                more="", **_list_context(request, seat))


@at_merchant(Can.READ)
async def payments_list(request: Request, seat: Seat, form: FormData | None) -> Response:
    q = request.query_params
    shown = {k: q.get(k, "") for k in FILTER_KEYS}
    try:
        f = parse_filter(q)
        before = _cursor(q.get("before", ""))
    except BadFilter as bad:
        return _bad_filter(request, seat, bad)
    common = _list_context(request, seat)
    async with request.app.state.db.long_reader() as conn:  # a filter may walk many rows
        rows = await console_reads.payments_page(conn, seat.merchant.id, f, before)
    more = ""
    if len(rows) == console_reads.PAGE:
        cursor = f"{rows[-1].created_at.isoformat()}|{rows[-1].id}"
        more = urlencode({**{k: v for k, v in shown.items() if v}, "before": cursor})
    return page(request, "console/payments.html", rows=rows, error="", more=more, **common)


@at_merchant(Can.READ)
async def payment_row(request: Request, seat: Seat, form: FormData | None) -> Response:
    """One row of the list, asked for again while its payment may still change."""
    async with request.app.state.db.long_reader() as conn:
        rows = await console_reads.payments_page(
            conn, seat.merchant.id, PaymentFilter(search=request.path_params["payment_id"]),
            limit=1)
    if not rows or rows[0].id != request.path_params["payment_id"]:
        return Response(status_code=404)
    return page(request, "console/_payment_row.html", seat=seat, p=rows[0], live=LIVE,
                live_seconds=LIVE_SECONDS)


@at_merchant(Can.READ)
async def payment_story(request: Request, seat: Seat, form: FormData | None) -> Response:
    async with request.app.state.db.reader() as conn:
        story = await console_reads.payment_story(conn, seat.merchant.id,
                                                  request.path_params["payment_id"])
    if story is None:
        return refused(request, 404, seat.visitor)
    return page(request, "console/payment.html", seat=seat, **story)


EXPORT_BATCH = 1000
EXPORT_COLUMNS = ("id", "created_at", "status", "amount", "currency", "captured", "refunded",
                  "acquirer", "reference", "description", "last_error")


def _cell(value: object) -> str:
    """A spreadsheet must not run what a buyer or a shop wrote: a text that would start a
    formula (=, +, -, @, a tab or a return) gets a leading apostrophe (OWASP's advice)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_row(p: Any) -> list[str]:
    def major(amount: int) -> str:
        return Money(amount, p.currency).to_decimal_string()
    return [p.id, p.created_at.isoformat().replace("+00:00", "Z"), p.status, major(p.amount),
            p.currency, major(p.captured_amount), major(p.refunded_amount), p.acquirer,
            _cell(p.reference), _cell(p.description), _cell(p.last_error_code)]


@at_merchant(Can.READ)
async def export_csv(request: Request, seat: Seat, form: FormData | None) -> Response:
    """Every payment the filter matches, newest first, as CSV: streamed page by page (keyset,
    one short read each), so memory stays flat however many there are."""
    try:
        f = parse_filter(request.query_params)
    except BadFilter as bad:
        return _bad_filter(request, seat, bad)
    db = request.app.state.db
    await console.record(db, seat.visitor, action="payments.export", target=seat.merchant.id,
                         merchant_id=seat.merchant.id, ip=client_of(request),
                         detail={k: v for k in FILTER_KEYS if (v := request.query_params.get(k))})

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        before = None
        while True:
            async with db.long_reader() as conn:
                batch = await console_reads.payments_page(conn, seat.merchant.id, f, before,
                                                          limit=EXPORT_BATCH)
            for p in batch:
                writer.writerow(_csv_row(p))
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(batch) < EXPORT_BATCH:
                return
            before = (batch[-1].created_at, batch[-1].id)

    day = datetime.now(UTC).strftime("%Y%m%d")
    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        **HEADERS, "Content-Disposition":
            f'attachment; filename="payments-{seat.merchant.id}-{day}.csv"'})


routes = [
    Route("/console/m/{merchant_id}/export/payments.csv", export_csv, methods=["GET"]),
    Route("/console/m/{merchant_id}/payments", payments_list, methods=["GET"]),
    Route("/console/m/{merchant_id}/payments/{payment_id}", payment_story, methods=["GET"]),
    Route("/console/m/{merchant_id}/payments/{payment_id}/row", payment_row, methods=["GET"]),
]
