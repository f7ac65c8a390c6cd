"""Bank 131 / Smart Glocal session API: one protocol, two hosts."""

from checkout.acquirers.bank131.driver import Bank131Driver

PRESETS = {
    "bank131-test": "https://demo.bank131.ru/api/v1/",
    "bank131": "https://proxy.bank131.ru/api/v1/",
    "smartglocal-test": "https://demo.smart-glocal.com/api/v1/",
    "smartglocal": "https://proxy.smart-glocal.com/api/v1/",
}

__all__ = ["Bank131Driver", "PRESETS"]
