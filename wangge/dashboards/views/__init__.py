"""Dashboard pages: `screen` (一屏观全域), `reports` (周调度, 月评估), `misroutes` (分派纠错率)."""
