"""HTTP API (FastAPI). ``create_app(deployment)`` builds it; nothing is created at import."""
