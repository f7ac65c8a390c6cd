"""YooKassa, payment method `tinkoff_bank`: the buyer is sent to YooMoney's page."""

from checkout.acquirers.yookassa.driver import YOOKASSA_NETWORKS, YooKassaDriver

API_URL = "https://api.yookassa.ru/v3/"

__all__ = ["API_URL", "YOOKASSA_NETWORKS", "YooKassaDriver"]
