"""Ports to ad platforms: what spendgate reads from them and what the executor writes."""
