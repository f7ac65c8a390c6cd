"""TBC Bank (Georgia) TPay e-commerce API: an access token, then the buyer on TBC's page."""

from checkout.acquirers.tbc.driver import TbcDriver

API_URL = "https://api.tbcbank.ge/v1/tpay/"
TEST_API_URL = "https://test-api.tbcbank.ge/v1/tpay/"

__all__ = ["API_URL", "TEST_API_URL", "TbcDriver"]
