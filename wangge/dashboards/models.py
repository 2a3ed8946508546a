"""Read-only views over other apps: metrics and boards. No tables of its own yet."""
