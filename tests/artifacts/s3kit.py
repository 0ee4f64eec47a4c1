"""The S3 test server's description (not in conftest.py: ``from conftest import`` resolves to whichever
conftest was imported first when several test directories run together)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

BUCKET = "hub-artifacts"
PREFIX = "hanyin"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    prefix: str
    secret: str

    @property
    def url(self) -> str:
        """The ``HUB_ARTIFACTS`` value."""
        return f"s3://{self.bucket}/{self.prefix}"

    def client(self) -> Any:
        """An independent boto3 client, to look at the bucket the way an operator would."""
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint)

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name[:2]}/{name}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
