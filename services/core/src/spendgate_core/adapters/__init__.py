"""Adapters: Redis, the ledger's store, the outbox, key names and the ad platforms."""
