"""Test helper: a local SMTP sink (aiosmtpd) on loopback that keeps every message it is sent."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message as EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message


class Sink(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[EmailMessage] = []
        self.port = 0

    def handle_message(self, message: EmailMessage) -> None:
        self.messages.append(message)


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    with socket.socket() as probe:  # aiosmtpd checks it is up by connecting: it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = Sink()
    sink.port = port
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
