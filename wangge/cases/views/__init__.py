"""Pages of the case loop, one module per audience: `console` (指挥中心: queue, case detail,
actions), `operator` (12345 call entry), `mobile` (the grid worker's H5), `portal` (residents:
report, QR codes, tracking, rating, public grid pages). Each module has its own URLs."""
