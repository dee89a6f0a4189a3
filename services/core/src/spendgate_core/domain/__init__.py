"""The domain: drafts and their lifecycle, policy, money, principals. Pure: no I/O, no framework."""
