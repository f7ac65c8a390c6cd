"""Acquirer drivers: the only code that speaks an acquirer's wire format."""
