"""spendgate_cli: the `spendgate` command line; it only calls the packages' public entrypoints."""
