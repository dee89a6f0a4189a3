"""Signed decision webhooks: an external approval system's Standard-Webhooks-signed approve/reject."""
