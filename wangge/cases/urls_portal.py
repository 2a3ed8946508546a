"""Residents' pages: report, QR codes, rating, public grid pages (views/portal.py)."""

urlpatterns = []
