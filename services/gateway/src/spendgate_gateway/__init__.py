"""spendgate_gateway: the MCP server where an AI reads ad accounts and drafts changes, never approves."""
