"""The merchant-facing HTTP API (Starlette on uvicorn)."""
