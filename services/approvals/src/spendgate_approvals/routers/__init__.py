"""The approval service's HTTP routers, one module per area (Slack, webhooks and console join later)."""
