"""Merchant webhooks: events written to an outbox with the state change, delivered by a worker."""
