"""spendgate_executor."""
