"""spendgate_approvals."""
