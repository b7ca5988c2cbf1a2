"""The HTTP and WebSocket API (FastAPI)."""
