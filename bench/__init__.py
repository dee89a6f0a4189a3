"""spendgate benchmarks: gateway and executor measured against bare FastMCP and bare RQ in the same run."""
