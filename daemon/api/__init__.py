"""The merchant-facing HTTP API (FastAPI on uvicorn)."""
