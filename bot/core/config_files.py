"""Where configuration files live: a local path, or `s3://bucket/key` in S3-compatible storage.

S3 goes through boto3 (AWS S3, MinIO and the like): the endpoint from
`CHATOPS_S3_ENDPOINT_URL` when set, credentials and region from the standard AWS environment
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, profiles...).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

from bot.core.config_reading import MAX_BYTES, ConfigError


def _s3(location: str) -> tuple[str, str]:
    parts = urlsplit(location)
    bucket, key = parts.netloc, parts.path.lstrip("/")
    if not bucket or not key:
        raise ConfigError(f"{location}: an S3 location is s3://<bucket>/<key>")
    return bucket, key


def _client(endpoint_url: str | None) -> object:
    import boto3  # imported on first use: most runs never touch S3

    return boto3.client("s3", endpoint_url=endpoint_url or None)


def _read_s3(location: str, endpoint_url: str | None) -> bytes:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _s3(location)
    client = _client(endpoint_url)
    try:
        head = client.head_object(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
        if int(head.get("ContentLength", 0)) > MAX_BYTES:
            size = int(head["ContentLength"])
            raise ConfigError(f"{location}: {size:,} bytes; a configuration file is at most 1 MB")
        body = client.get_object(Bucket=bucket, Key=key)["Body"]  # type: ignore[attr-defined]
        return bytes(body.read(MAX_BYTES + 1))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"{location}: S3 said {code}") from None
    except BotoCoreError as exc:
        raise ConfigError(f"{location}: {exc}") from None


def _write_s3(location: str, text: str, endpoint_url: str | None) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, key = _s3(location)
    try:
        _client(endpoint_url).put_object(  # type: ignore[attr-defined]
            Bucket=bucket, Key=key, Body=text.encode(), ContentType="application/yaml"
        )
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise ConfigError(f"{location}: S3 said {code}") from None
    except BotoCoreError as exc:
        raise ConfigError(f"{location}: {exc}") from None


def _read_local(location: str) -> bytes:
    path = Path(location)
    try:
        if path.stat().st_size > MAX_BYTES:
            size = path.stat().st_size
            raise ConfigError(f"{location}: {size:,} bytes; a configuration file is at most 1 MB")
        with path.open("rb") as handle:  # a device or a pipe says size 0 and may never end
            data = handle.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ConfigError(f"{location}: more than 1 MB; a configuration file is at most 1 MB")
        return data
    except OSError as exc:
        raise ConfigError(f"{location}: {exc.strerror or exc}") from None


async def read(location: str, endpoint_url: str | None = None) -> bytes:
    """The file's bytes (at most MAX_BYTES + 1 of them); ConfigError when it cannot be read."""
    if location.startswith("s3://"):
        return await asyncio.to_thread(_read_s3, location, endpoint_url)
    if "://" in location:
        raise ConfigError(f"{location}: a local path or s3://bucket/key")
    return await asyncio.to_thread(_read_local, location)


async def write(location: str, text: str, endpoint_url: str | None = None) -> None:
    """Write the file; ConfigError when it cannot be written."""
    if location.startswith("s3://"):
        return await asyncio.to_thread(_write_s3, location, text, endpoint_url)
    if "://" in location:
        raise ConfigError(f"{location}: a local path or s3://bucket/key")
    try:
        await asyncio.to_thread(Path(location).write_text, text, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{location}: {exc.strerror or exc}") from None
