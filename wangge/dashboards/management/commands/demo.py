"""`wangge demo`: migrate, load the demo county (idempotently) and serve it, with the worker
running beside the server."""

import contextlib
import threading
import webbrowser

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from wangge.world import DEMO_PASSWORD


class Command(BaseCommand):
    help = "Migrate, load the demo jurisdiction (睢县) and serve on http://127.0.0.1:PORT"

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-browser", action="store_true")
        parser.add_argument("--no-serve", action="store_true", help="load the data and exit")

    def handle(self, *args, port, no_browser, no_serve, **options):
        from wangge.dashboards.demo import load_demo

        call_command("migrate", verbosity=0, interactive=False)
        summary = load_demo(stdout=self.stdout)
        base = f"http://127.0.0.1:{port}"
        self.stdout.write(self.style.SUCCESS(f"\nwangge demo: {summary}"))
        self.stdout.write(f"  数据目录 data dir:    {settings.DATA_DIR}")
        self.stdout.write(f"  派单队列 queue:       {base}/queue/")
        self.stdout.write(f"  地图 map:             {base}/console/map/")
        self.stdout.write(f"  热线录入 hotline:     {base}/operator/")
        self.stdout.write(f"  网格员H5 grid worker: {base}/h5/")
        self.stdout.write(f"  一屏观全域 screen:    {base}/screen/")
        self.stdout.write(f"  报表 reports:         {base}/reports/")
        self.stdout.write(f"  我要反映 report:      {base}/report/")
        self.stdout.write(f"  案件查询 tracking:    {base}/track/")
        self.stdout.write(f"  我的数据 my data:     {base}/my-data/")
        self.stdout.write(f"  社区 community:       {base}/community/")
        self.stdout.write(f"  住户台账 registry:    {base}/registry/")
        self.stdout.write(f"  接口文档 API docs:    {base}/api/docs")
        self.stdout.write(f"  管理后台 admin:       {base}/admin/")
        self.stdout.write(
            f"  登录 logins (password {DEMO_PASSWORD}): dispatcher, urban_handler, "
            "grid_worker_a1, secretary_a, township_dispatcher_a, supervisor, leader, deputy, admin"
        )
        self.stdout.write(
            "  网格员 grid workers: gw_<网格编码 grid code>; 承办人 handlers: h_<unit code>; "
            "乡镇派单员 township dispatchers: td_<township code>"
        )
        if no_serve:
            return
        # The worker beside the server, as production runs `wangge worker`: 智能分派 of new
        # cases, notifications, and deadlines turning yellow and red while you watch.
        threading.Thread(
            target=call_command,
            args=("worker",),
            kwargs={"verbosity": 0},
            name="wangge-demo-worker",
            daemon=True,
        ).start()
        self.stdout.write("  后台任务 worker:      running in this process")
        if not no_browser:
            # No desktop browser on a server is fine.
            with contextlib.suppress(Exception):
                webbrowser.open(f"{base}/queue/")
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)
