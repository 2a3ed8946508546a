"""一屏观全域 under /screen/ (views/screen.py)."""

urlpatterns = []
