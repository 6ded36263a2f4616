"""Alerts received for real: a local SMTP server (STARTTLS + login) and a local webhook receiver."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import dagster as dg
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from fpl_platform.lib.notify import Alert
from fpl_platform.resources import Notifier, RunClock
from fpl_platform_tests.conftest import materialise, resources_for, table
from fpl_platform_tests.http_server import serve_webhooks

PASSWORD = "s3cret-smtp-password"


def self_signed_certificate(directory) -> tuple[str, str]:
    """A certificate for 'localhost' and its key, written as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return str(cert_path), str(key_path)


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp_server(tmp_path):
    import ssl

    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"alerts" and auth_data.password == PASSWORD.encode())

    with socket.socket() as probe:  # a free port: aiosmtpd 1.4 does not report an ephemeral one
        probe.bind(("localhost", 0))
        port = probe.getsockname()[1]
    controller = Controller(
        inbox, hostname="localhost", port=port, tls_context=context, require_starttls=True,
        authenticator=authenticator, auth_require_tls=True,
    )  # fmt: skip
    controller.start()
    try:
        yield inbox, port, cert
    finally:
        controller.stop()


@pytest.fixture
def channels(smtp_server, monkeypatch):
    inbox, port, cert = smtp_server
    with serve_webhooks() as hooks:
        env = {
            "FPL_PLATFORM_SMTP_HOST": "localhost",
            "FPL_PLATFORM_SMTP_PORT": str(port),
            "FPL_PLATFORM_SMTP_USER": "alerts",
            "FPL_PLATFORM_SMTP_PASSWORD": PASSWORD,
            "FPL_PLATFORM_SMTP_FROM": "fpl@localhost",
            "FPL_PLATFORM_SMTP_TO": "ops@localhost",
            "FPL_PLATFORM_SMTP_CA_FILE": cert,
            "FPL_PLATFORM_SLACK_WEBHOOK": f"{hooks.url}/slack/T000/B000/secret-token",
            "FPL_PLATFORM_DISCORD_WEBHOOK": f"{hooks.url}/discord/123/secret-token",
            "FPL_PLATFORM_ALERT_WEBHOOK": f"{hooks.url}/generic",
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        yield inbox, hooks


DRIFT = Alert(
    key="drift:match_outcome",
    title="Critical drift in match features",
    severity="CRITICAL",
    message="4 of 20 features drifted in the last 6 gameweeks",
    metric="psi(elo_diff)",
    value=0.31,
    threshold=0.25,
)


def test_alert_reaches_every_channel_and_is_recorded(channels, warehouse, caplog):
    inbox, hooks = channels
    caplog.set_level(logging.DEBUG)
    deliveries = Notifier(backoff_seconds=0.01).notify(DRIFT, warehouse, pd.Timestamp.now(tz="UTC"))
    assert {(d.channel, d.status) for d in deliveries} == {
        ("email", "sent"),
        ("slack", "sent"),
        ("discord", "sent"),
        ("webhook", "sent"),
    }
    (_sender, recipients, content), = inbox.messages  # fmt: skip
    assert recipients == ["ops@localhost"] and "Subject: [fpl_platform CRITICAL] Critical drift in match features" in content
    assert "psi(elo_diff) = 0.3100 (threshold 0.2500)" in content
    bodies = dict(hooks.bodies)
    assert (
        "Critical drift" in bodies["/slack/T000/B000/secret-token"]["text"]
        and "CRITICAL" in bodies["/slack/T000/B000/secret-token"]["text"]
    )
    discord = bodies["/discord/123/secret-token"]
    assert discord["embeds"][0]["color"] == 0xE74C3C and "threshold 0.2500" in discord["embeds"][0]["description"]
    assert bodies["/generic"] == DRIFT.payload()
    stored = table(warehouse, "SELECT * FROM monitoring.alerts")
    assert sorted(stored["channel"]) == ["discord", "email", "slack", "webhook"] and set(stored["status"]) == {"sent"}
    from fpl_platform.lib.schemas import ALERTS

    assert len(table(warehouse, ALERTS.example_sql)) == 4  # docs/tables.md's example query
    everything = stored.to_csv() + caplog.text
    assert PASSWORD not in everything and "secret-token" not in everything


def test_cooldown_suppresses_the_same_key_only(channels, warehouse):
    inbox, _hooks = channels
    notifier = Notifier(cooldown_minutes=30, backoff_seconds=0.01)
    notifier.notify(DRIFT, warehouse, pd.Timestamp.now(tz="UTC"))
    again = notifier.notify(DRIFT, warehouse, pd.Timestamp.now(tz="UTC"))
    assert [(d.channel, d.status) for d in again] == [("none", "suppressed")]
    other = Alert(
        key="performance:match_outcome", title="RPS above the control limit", severity="HIGH", message="rolling RPS 0.231"
    )
    assert {d.status for d in notifier.notify(other, warehouse, pd.Timestamp.now(tz="UTC"))} == {"sent"}
    assert len(inbox.messages) == 2
    statuses = table(warehouse, "SELECT alert_key, status, count(*) AS n FROM monitoring.alerts GROUP BY ALL ORDER BY ALL")
    assert ("drift:match_outcome", "suppressed", 1) in [tuple(r) for r in statuses.values.tolist()]


def test_failing_channel_is_retried_recorded_and_never_raises(smtp_server, warehouse, monkeypatch):
    with serve_webhooks(always_fail_path="/slack/broken") as hooks:
        monkeypatch.setenv("FPL_PLATFORM_SLACK_WEBHOOK", f"{hooks.url}/slack/broken")
        monkeypatch.setenv("FPL_PLATFORM_ALERT_WEBHOOK", f"{hooks.url}/generic")
        deliveries = Notifier(retries=2, backoff_seconds=0.01).notify(DRIFT, warehouse, pd.Timestamp.now(tz="UTC"))
        assert hooks.requests.count("/slack/broken") == 3
    by_channel = {d.channel: d for d in deliveries}
    assert by_channel["slack"].status == "failed" and by_channel["slack"].attempts == 3
    assert "HTTP 500" in by_channel["slack"].error and "broken" not in by_channel["slack"].error
    assert by_channel["webhook"].status == "sent"
    stored = table(warehouse, "SELECT channel, status, error FROM monitoring.alerts ORDER BY channel")
    assert stored["status"].tolist() == ["failed", "sent"]


def test_failed_run_sends_an_alert(channels, warehouse, instance, data_dir):
    import pandas as pd

    from fpl_platform.defs.monitoring.sensors import alert_on_run_failure

    inbox, hooks = channels
    matches = pd.read_parquet(data_dir / "matches.parquet")
    matches.loc[matches.index[matches["season"] == "2024-25"][0], "home_team"] = "Nowhere Rovers"
    matches.to_parquet(data_dir / "matches.parquet", index=False)
    result = materialise(
        ["raw/matches"], resources_for(warehouse, data_dir), instance, seasons=("2024-25", "2024-25"), raise_on_error=False
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name=alert_on_run_failure.name, dagster_instance=instance, dagster_run=run, dagster_event=failure.dagster_event,
        resources={"notifier": Notifier(backoff_seconds=0.01), "warehouse": warehouse, "clock": RunClock()},
    ).for_run_failure()  # fmt: skip
    alert_on_run_failure(context)
    stored = table(warehouse, "SELECT * FROM monitoring.alerts")
    assert set(stored["status"]) == {"sent"} and set(stored["severity"]) == {"HIGH"}
    assert result.run_id in stored["message"].iat[0] and "raw__matches" in stored["message"].iat[0]
    assert any(result.run_id in body["text"] for path, body in hooks.bodies if path.startswith("/slack"))
    assert len(inbox.messages) == 1


def test_alerts_need_a_known_severity_and_run_by_default():
    from fpl_platform.defs.monitoring.sensors import alert_on_run_failure

    with pytest.raises(ValueError, match="severity"):
        Alert(key="k", title="t", severity="URGENT", message="m")
    assert alert_on_run_failure.default_status == dg.DefaultSensorStatus.RUNNING
