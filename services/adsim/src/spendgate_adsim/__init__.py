"""spendgate_adsim: a sandbox ad platform (FastAPI) that behaves like a real one for local runs and tests."""
