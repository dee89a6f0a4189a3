"""Slack as an approval channel: a Block Kit message per draft, signed clicks into the core use cases."""
