"""`spendgate dev`: the whole stack on one machine, for trying spendgate and for the README tour."""
