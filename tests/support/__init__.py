"""Shared test harness: real processes and real servers, owned by the tests that start them."""
