"""Contracts between services: the apply job, event schema, the draft's outside shape, ledger format."""
