"""The objects merchants see (payment, refund, payment method, event), shaped from records.

Shared by the merchant API's answers and the webhook bodies of the outbox, so the two can
never disagree; below both, above the store's records.
"""
