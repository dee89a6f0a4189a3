"""spendgate_adsim."""
