"""spendgate_approvals: the human side of spendgate — read, arm, confirm, reject and roll back drafts."""
