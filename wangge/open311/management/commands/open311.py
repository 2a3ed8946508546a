"""`wangge open311 pull BASE_URL` imports another GeoReport v2 server's requests as cases;
`wangge open311 check BASE_URL --api-key KEY` runs the conformance suite against a server."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from wangge.open311 import client, conformance


class Command(BaseCommand):
    help = "Open311 GeoReport v2 client: pull requests as cases, or check a server."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        pull = sub.add_parser("pull", help="Import the server's service requests as cases.")
        pull.add_argument("base_url")
        pull.add_argument("--service", dest="service_code")
        pull.add_argument("--since", help="date or date-time; default: the last 90 days")
        pull.add_argument("--jurisdiction", dest="jurisdiction_id")
        pull.add_argument("--api-key", dest="api_key")
        pull.add_argument(
            "--enqueue", action="store_true", help="queue the pull for `wangge worker`"
        )
        pull.add_argument(
            "--every", type=int, metavar="MINUTES", help="with --enqueue: repeat every MINUTES"
        )
        check = sub.add_parser("check", help="Run the GeoReport v2 conformance checks.")
        check.add_argument("base_url")
        check.add_argument("--api-key", dest="api_key", required=True)
        check.add_argument("--jurisdiction", dest="jurisdiction_id")
        check.add_argument("--service", dest="service_code")
        check.add_argument("--lat", type=float)
        check.add_argument("--long", dest="lon", type=float)

    def handle(self, *args, action, **options):
        if action == "pull":
            return self.run_pull(**options)
        return self.run_check(**options)

    def run_pull(self, *, base_url, service_code, since, jurisdiction_id, api_key, **options):
        try:
            since_at = client.parse_since(since) if since else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["enqueue"]:
            task = client.pull_open311.enqueue(
                base_url, service_code, since, jurisdiction_id, api_key, options["every"]
            )
            self.stdout.write(_("Queued pull %(id)s.") % {"id": task.id})
            return
        try:
            result = client.pull(
                base_url,
                service_code=service_code,
                since=since_at,
                jurisdiction_id=jurisdiction_id,
                api_key=api_key,
            )
        except client.Open311Error as exc:
            raise CommandError(str(exc)) from exc
        for error in result.errors:
            self.stderr.write(error)
        self.stdout.write(
            _(
                "%(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
                "%(failed)s failed"
            )
            % {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "failed": result.failed,
            }
        )
        if result.failed:
            raise CommandError(_("Some requests could not be imported."))

    def run_check(self, *, base_url, api_key, jurisdiction_id, service_code, lat, lon, **options):
        results = conformance.run(
            base_url,
            api_key=api_key,
            jurisdiction_id=jurisdiction_id,
            service_code=service_code,
            lat=lat,
            lon=lon,
        )
        for line in results:
            self.stdout.write(line.line())
        failed = sum(1 for r in results if not r.ok)
        self.stdout.write(
            _("%(passed)s passed, %(failed)s failed")
            % {"passed": len(results) - failed, "failed": failed}
        )
        if failed:
            raise CommandError(_("The server does not conform."), returncode=1)
