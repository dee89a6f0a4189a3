"""Use cases: drafting, deciding, applying rules and queries, written against the ports in `ports`."""
