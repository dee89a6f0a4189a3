"""spendgate_gateway."""
