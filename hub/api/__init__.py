"""The admin API: FastAPI under ``/api/v1``, one router per resource, API-key access."""

from __future__ import annotations

from .app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
