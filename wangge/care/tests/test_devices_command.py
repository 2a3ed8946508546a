"""`wangge devices simulate | listen | status` end to end on the shared Mosquitto (127.0.0.1:1883),
with a topic and client id of this test's own: what the simulator publishes, the listener
records, alarms become cases, and status lists the devices."""

import re
import shutil
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from wangge.care.models import Device, DeviceEvent
from wangge.care.mqtt import BrokerConfig, Listener, forget_session
from wangge.cases.models import Case

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None,
    reason="needs Mosquitto (scripts/ensure-test-services installs and starts it)",
)


@pytest.fixture
def mqtt_settings(settings):
    prefix = f"wangge-test/{uuid.uuid4().hex[:12]}"
    settings.WANGGE_MQTT_HOST = "127.0.0.1"
    settings.WANGGE_MQTT_PORT = 1883
    settings.WANGGE_MQTT_TOPIC = f"{prefix}/devices/+/events"
    settings.WANGGE_MQTT_CLIENT_ID = f"{prefix.replace('/', '-')}-listener"
    settings.WANGGE_MQTT_SESSION_EXPIRY = 300
    config = BrokerConfig.from_settings()
    # The listener's session exists before anything is published, as in production.
    listener = Listener(config)
    listener.start()
    assert listener.subscribed.wait(60), "no subscription"
    listener.close()
    yield config
    forget_session(config)


def run(*args) -> str:
    out = StringIO()
    with translation.override("en"):  # the Chinese output is the translators' to change
        call_command("devices", *args, stdout=out)
    return out.getvalue()


def test_simulated_traffic_is_recorded_and_listed(world, mqtt_settings):
    published = run(
        "simulate", "--rate", "400", "--seconds", "0.5", "--alarm-share", "0.1", "--seed", "7"
    )
    assert "installed 18 demo devices in 6 households" in published
    sent = int(re.search(r"Published (\d+) messages", published).group(1))
    alarms = int(re.search(r"alarm=(\d+)", published).group(1))
    assert sent == 200 and alarms > 0

    listened = run("listen", "--once-idle", "2")
    counts = dict(re.findall(r"(\w+)=(\d+)", listened.splitlines()[-1]))
    # Every message arrived; the alarms a device sent again are recorded once.
    assert int(counts["recorded"]) + int(counts["duplicates"]) == sent
    assert int(counts["duplicates"]) > 0 and counts["rejected"] == "0"
    assert DeviceEvent.objects.count() == int(counts["recorded"])
    assert Case.objects.filter(category__code__in=["1101", "1102"]).count() == int(
        counts["cases_opened"]
    )
    assert int(counts["cases_opened"]) > 0 and int(counts["cases_joined"]) > 0

    status = run("status")
    assert "DEMO-DOOR-0001" in status and "18 devices" in status
    seen = Device.objects.filter(last_seen_at__isnull=False).count()
    assert status.count("online") == seen > 0
