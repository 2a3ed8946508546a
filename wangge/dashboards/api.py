"""Metrics (考核指标) for a grid subtree and a period: GET /api/v1/metrics."""

from ninja import Router

router = Router(tags=["metrics"])
