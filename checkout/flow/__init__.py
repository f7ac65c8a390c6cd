"""The use-cases: create a payment, start an attempt, apply what the acquirer says, expire.

This package is the only place that changes a payment's or an attempt's state.
"""
