"""Alerts: severities, channels (email over SMTP with STARTTLS and login, Slack, Discord, a JSON
webhook), retries, and a per-alert-key cooldown.

Secrets (SMTP password, webhook URLs) come from environment variables when a channel is built and
are never put in messages, errors, logs or metadata: errors name the channel, not its URL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import smtplib
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage

import requests

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")
SLACK_EMOJI = {"LOW": ":information_source:", "MEDIUM": ":warning:", "HIGH": ":rotating_light:", "CRITICAL": ":fire:"}
DISCORD_COLOUR = {"LOW": 0x3498DB, "MEDIUM": 0xF1C40F, "HIGH": 0xE67E22, "CRITICAL": 0xE74C3C}


@dataclass(frozen=True)
class Alert:
    """Something an operator should know: a key (for cooldowns), a severity, and the evidence."""

    key: str
    title: str
    severity: str
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: float | None = None
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r} is not one of {SEVERITIES}")

    def text(self) -> str:
        """The plain-text body every channel uses."""
        lines = [f"[{self.severity}] {self.title}", self.message]
        if self.metric is not None:
            lines.append(
                f"{self.metric} = {self.value:.4f} (threshold {self.threshold:.4f})" if self.value is not None else self.metric
            )
        lines += [f"{k}: {v}" for k, v in self.details.items()]
        return "\n".join(lines)

    def payload(self) -> dict:
        return {
            "key": self.key,
            "title": self.title,
            "severity": self.severity,
            "message": self.message,
            "metric": self.metric,
            "value": self.value,
            "threshold": self.threshold,
            "details": self.details,
        }


class ChannelError(RuntimeError):
    """A channel failed to deliver; the message never contains the channel's secret."""


@dataclass
class EmailChannel:
    """SMTP with STARTTLS and login."""

    host: str
    port: int
    username: str
    password: str = field(repr=False)
    sender: str
    recipients: list[str]
    ca_file: str | None = None
    name: str = "email"

    def send(self, alert: Alert) -> None:
        message = EmailMessage()
        message["Subject"] = f"[fpl_platform {alert.severity}] {alert.title}"
        message["From"] = self.sender
        message["To"] = ", ".join(self.recipients)
        message.set_content(alert.text())
        context = ssl.create_default_context(cafile=self.ca_file)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=20) as smtp:
                smtp.starttls(context=context)
                smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            raise ChannelError(f"email via {self.host}:{self.port} failed: {type(error).__name__}") from None


@dataclass
class WebhookChannel:
    """An HTTP webhook: Slack, Discord or a generic JSON endpoint (the URL is the secret)."""

    url: str = field(repr=False)
    kind: str = "webhook"  # "slack", "discord" or "webhook"

    @property
    def name(self) -> str:
        return self.kind

    def body(self, alert: Alert) -> dict:
        if self.kind == "slack":
            return {"text": f"{SLACK_EMOJI[alert.severity]} *{alert.title}* ({alert.severity})\n{alert.text()}"}
        if self.kind == "discord":
            return {
                "content": f"**{alert.title}** ({alert.severity})",
                "embeds": [{"title": alert.title, "description": alert.text(), "color": DISCORD_COLOUR[alert.severity]}],
            }
        return alert.payload()

    def send(self, alert: Alert) -> None:
        body, headers = json.dumps(self.body(alert)), {"Content-Type": "application/json"}
        try:
            with _url_logging_silenced():
                response = requests.post(self.url, data=body, headers=headers, timeout=20)
        except requests.RequestException as error:
            raise ChannelError(f"{self.kind} webhook failed: {type(error).__name__}") from None
        if response.status_code >= 300:
            raise ChannelError(f"{self.kind} webhook answered HTTP {response.status_code}")


@contextlib.contextmanager
def _url_logging_silenced():
    """urllib3 logs request paths at DEBUG, and a webhook's path is its secret: keep it out of the logs."""
    logger = logging.getLogger("urllib3.connectionpool")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def channels_from_environment(environ: dict | None = None) -> list:
    """Every channel whose environment variables are set (FPL_PLATFORM_SMTP_*, *_SLACK_WEBHOOK, ...)."""
    env = os.environ if environ is None else environ
    channels: list = []
    if env.get("FPL_PLATFORM_SMTP_HOST"):
        channels.append(
            EmailChannel(
                host=env["FPL_PLATFORM_SMTP_HOST"],
                port=int(env.get("FPL_PLATFORM_SMTP_PORT", "587")),
                username=env.get("FPL_PLATFORM_SMTP_USER", ""),
                password=env.get("FPL_PLATFORM_SMTP_PASSWORD", ""),
                sender=env.get("FPL_PLATFORM_SMTP_FROM", "fpl-platform@localhost"),
                recipients=[r.strip() for r in env.get("FPL_PLATFORM_SMTP_TO", "").split(",") if r.strip()],
                ca_file=env.get("FPL_PLATFORM_SMTP_CA_FILE") or None,
            )
        )
    for variable, kind in (
        ("FPL_PLATFORM_SLACK_WEBHOOK", "slack"),
        ("FPL_PLATFORM_DISCORD_WEBHOOK", "discord"),
        ("FPL_PLATFORM_ALERT_WEBHOOK", "webhook"),
    ):
        if env.get(variable):
            channels.append(WebhookChannel(env[variable], kind))
    return channels


@dataclass(frozen=True)
class Delivery:
    """What happened to an alert on one channel."""

    channel: str
    status: str  # "sent", "failed", "suppressed" or "no_channel"
    attempts: int
    error: str | None = None


def in_cooldown(last_sent: datetime | None, now: datetime, cooldown: timedelta) -> bool:
    """True while the same alert key was sent less than `cooldown` ago."""
    return last_sent is not None and now - last_sent < cooldown


def deliver(alert: Alert, channels: list, *, retries: int = 2, backoff_seconds: float = 0.5) -> list[Delivery]:
    """Send on every channel with retries; a failing channel is recorded, never raised."""
    if not channels:
        return [Delivery("none", "no_channel", 0)]
    out = []
    for channel in channels:
        error = None
        for attempt in range(1, retries + 2):
            try:
                channel.send(alert)
                out.append(Delivery(channel.name, "sent", attempt))
                break
            except ChannelError as failure:
                error = str(failure)
                if attempt <= retries:
                    time.sleep(backoff_seconds * 2 ** (attempt - 1))
        else:
            out.append(Delivery(channel.name, "failed", retries + 1, error))
    return out
