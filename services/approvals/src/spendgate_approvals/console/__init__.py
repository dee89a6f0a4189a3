"""The web console: server-rendered pages that call the same core use cases as every other channel."""
