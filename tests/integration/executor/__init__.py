"""Executor integration tests."""
