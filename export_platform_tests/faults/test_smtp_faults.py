"""The SMTP server refuses or drops the connection: the export stays ``success``, delivery is retried
by later sensor ticks, and once the server accepted the message no second copy is sent."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from export_platform.source.demo_data import SeedPlan
from export_platform.source.seeding import seed
from export_platform.source.url import SourceUrl
from export_platform.tracking.history import ExportHistory
from export_platform.tracking.notifications import NotificationSettings, NotificationSettingsStore
from export_platform_tests.support.mail_delivery import add_schedule, deliver, scheduled_run
from export_platform_tests.support.materialize import ephemeral_instance
from export_platform_tests.support.ports import free_port

pytestmark = pytest.mark.faults


class FlakyServer:
    """An SMTP handler that fails the first ``failures`` deliveries in the way named by ``fault``."""

    def __init__(self, fault: str, failures: int) -> None:
        self.fault, self.failures = fault, failures
        self.messages: list[email.message.EmailMessage] = []
        self.attempts = 0

    def failing(self) -> bool:
        return self.attempts <= self.failures

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.attempts += 1
        if self.fault == "refuse" and self.failing():
            return "451 4.3.2 System not accepting network messages"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fault == "disconnect" and self.failing():
            server.transport.close()  # the connection drops before the server answers the message
            return "451 lost"
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        if self.fault == "shutdown after accepting" and self.failing():
            return "421 4.3.0 Shutting down"  # accepted the message, then fails the goodbye
        return "221 Bye"


@pytest.fixture
def platform(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'source.db'}"
    seed(SourceUrl(url), SeedPlan(tenants=1, months=1, sales_per_day=3, end_month="2026-10"))
    history = ExportHistory(url=url)
    NotificationSettingsStore(history.engine).put(
        NotificationSettings("acme", allowed_domains=("acme.example",))
    )
    return url, history, tmp_path / "artifacts"


@pytest.fixture(params=["refuse", "disconnect", "shutdown after accepting"])
def flaky_smtp(request) -> Iterator[tuple[FlakyServer, str]]:
    handler, port = FlakyServer(request.param, failures=2), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, f"smtp://127.0.0.1:{port}"
    controller.stop()


def test_delivery_is_retried_and_sent_once(platform, flaky_smtp) -> None:
    url, history, root = platform
    server, smtp_url = flaky_smtp
    instance = ephemeral_instance("acme")
    run = scheduled_run(url, root, instance, add_schedule(history, ("finance@acme.example",)))
    assert run.success

    for _ in range(5):  # five sensor ticks
        deliver(instance, history, root, smtp_url)
        if server.fault != "shutdown after accepting" and server.attempts <= server.failures:
            assert server.messages == []
            assert {r["status"] for r in history.entries(tenant="acme")} == {"success"}

    expected_attempts = 1 if server.fault == "shutdown after accepting" else server.failures + 1
    assert server.attempts == expected_attempts
    assert len(server.messages) == 1
    assert server.messages[0]["Message-ID"] == f"<delivery-{run.run_id}@export-platform>"
    assert {r["status"] for r in history.entries(tenant="acme")} == {"emailed"}
