"""spendgate_cli."""
