"""spendgate_core."""
