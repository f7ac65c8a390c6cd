"""Russian and English texts for the buyer's pages, chosen by ?lang= then Accept-Language."""

from __future__ import annotations

from typing import Final

from starlette.requests import Request

LANGUAGES: Final = ("ru", "en")
DEFAULT: Final = "ru"

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "Payment",
        "pay_to": "Payment to",
        "sandbox_banner": "Sandbox: no real money moves",
        "starting": "Preparing T-Pay…",
        "start_button": "Pay with T-Pay",
        "scan_qr": "Scan the QR code with your phone camera to pay in the T-Bank app",
        "open_here": "Open on this device",
        "pay_button": "Pay with T-Pay",
        "continue_to_bank": "Continue to T-Pay",
        "bank_page_hint": "The bank's payment page opens; you come back here when it is done.",
        "pay_other_phone": "Pay from another phone",
        "pay_on_this_phone": "Pay in the T-Bank app on this phone",
        "in_app_notice": ("You are in another app's browser: the T-Bank app may not open "
                          "from here."),
        "open_in_browser": "Open in the browser",
        "copy_link": "Copy the link",
        "enlarge_qr": "Enlarge the code",
        "copied": "Link copied: paste it into your browser",
        "app_did_not_open": "The T-Bank app did not open?",
        "time_left": "Time left to approve",
        "minutes_left": "{n} min left to approve",
        "waiting": "Waiting for approval in the T-Bank app…",
        "succeeded": "Payment successful",
        "succeeded_hint": "You will be returned to the shop in a few seconds.",
        "return_to_shop": "Return to shop",
        "failed": "Payment was not completed",
        "declined": "The payment was declined.",
        "expired_attempt": "Time to approve the payment ran out.",
        "try_again": "Try again",
        "payment_expired": "This payment has expired",
        "payment_failed": "The payment failed",
        "payment_canceled": "The payment was canceled",
        "waiting_capture": "Payment approved; the shop will complete it",
        "not_found": "This payment link is not valid",
        "not_found_hint": "Check the link, or go back to the shop and start again.",
        "retry_later": "The bank is not answering right now. We keep trying.",
        "no_js": "JavaScript is off: reload this page to see the current status.",
        "checking": "Checking with the bank…",
    },
    "ru": {
        "title": "Оплата",
        "pay_to": "Оплата в",
        "sandbox_banner": "Песочница: настоящие деньги не списываются",
        "starting": "Готовим T-Pay…",
        "start_button": "Оплатить через T-Pay",
        "scan_qr": "Отсканируйте QR-код камерой телефона, чтобы оплатить в приложении Т-Банка",
        "open_here": "Открыть на этом устройстве",
        "pay_button": "Оплатить через T-Pay",
        "continue_to_bank": "Перейти к оплате T-Pay",
        "bank_page_hint": "Откроется страница оплаты банка; после оплаты вы вернётесь сюда.",
        "pay_other_phone": "Оплатить с другого телефона",
        "pay_on_this_phone": "Оплатить в приложении Т-Банка на этом телефоне",
        "in_app_notice": ("Вы во встроенном браузере другого приложения: приложение Т-Банка "
                          "может не открыться отсюда."),
        "open_in_browser": "Открыть в браузере",
        "copy_link": "Скопировать ссылку",
        "enlarge_qr": "Увеличить код",
        "copied": "Ссылка скопирована: вставьте её в браузер",
        "app_did_not_open": "Приложение Т-Банка не открылось?",
        "time_left": "Осталось времени на подтверждение",
        "minutes_left": "Осталось {n} мин. на подтверждение",
        "waiting": "Ждём подтверждения в приложении Т-Банка…",
        "succeeded": "Оплата прошла",
        "succeeded_hint": "Через несколько секунд вы вернётесь в магазин.",
        "return_to_shop": "Вернуться в магазин",
        "failed": "Оплата не завершена",
        "declined": "Платёж отклонён.",
        "expired_attempt": "Время на подтверждение платежа истекло.",
        "try_again": "Попробовать снова",
        "payment_expired": "Срок оплаты истёк",
        "payment_failed": "Оплата не удалась",
        "payment_canceled": "Платёж отменён",
        "waiting_capture": "Платёж подтверждён, магазин завершит его",
        "not_found": "Ссылка на оплату недействительна",
        "not_found_hint": "Проверьте ссылку или вернитесь в магазин и начните заново.",
        "retry_later": "Банк сейчас не отвечает. Мы продолжаем попытки.",
        "no_js": "JavaScript выключен: обновите страницу, чтобы увидеть текущий статус.",
        "checking": "Уточняем в банке…",
    },
}


def pick_language(request: Request) -> str:
    asked = request.query_params.get("lang", "")
    if asked in LANGUAGES:
        return asked
    header = request.headers.get("accept-language", "")
    ranked: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        lang = tag.split("-")[0].lower()
        if lang in LANGUAGES:
            ranked.append((weight, lang))
    return max(ranked, key=lambda r: r[0])[1] if ranked else DEFAULT
