"""The SSRF guard refuses internal addresses after DNS resolution."""

from __future__ import annotations

import pytest

from adapters.base import BadConfig
from adapters.egress import check_target


@pytest.mark.parametrize(
    "url,reason",
    [
        ("http://127.0.0.1:8080/x", "loopback"),
        ("http://localhost/x", "loopback"),
        ("http://[::1]/x", "loopback"),
        ("http://10.1.2.3/x", "private"),
        ("http://192.168.0.10/x", "private"),
        ("http://172.16.5.5/x", "private"),
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("http://169.254.1.1/x", "link-local"),
        ("http://[::ffff:127.0.0.1]/x", "loopback"),
        ("http://0.0.0.0/x", "reserved"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("http://[2002:7f00:1::1]/x", "loopback .inside an IPv6 address"),  # 6to4 of 127.0.0.1
        ("http://[2002:a9fe:a9fe::1]/x", "metadata"),  # 6to4 of 169.254.169.254
        ("http://[64:ff9b::a9fe:a9fe]/x", "metadata"),  # NAT64 of it
        ("http://[fec0::1]/x", "site-local"),
        ("http://192.88.99.1/x", "6to4 relay"),
        ("ftp://example.com/x", "http:// or https://"),
        ("http:///nohost", "http:// or https://"),
    ],
)
async def test_internal_targets_are_refused(url: str, reason: str) -> None:
    with pytest.raises(BadConfig, match=reason):
        await check_target(url, allow_private=False)


async def test_the_setting_allows_private_targets() -> None:
    url = "http://127.0.0.1:9/x"
    with pytest.raises(BadConfig, match="CHATOPS_ALLOW_PRIVATE_TARGETS"):
        await check_target(url, allow_private=False)
    assert await check_target(url, allow_private=True) is None


async def test_public_addresses_pass_and_only_the_internal_one_is_named() -> None:
    assert await check_target("https://93.184.215.14/hook", allow_private=False) is None
    with pytest.raises(BadConfig) as caught:
        await check_target("https://10.0.0.1/hook", allow_private=False)
    assert "10.0.0.1" in str(caught.value) and "93.184" not in str(caught.value)


@pytest.mark.parametrize("address", ["100.64.0.1", "100.127.255.254"])
async def test_carrier_grade_nat_is_refused(address: str) -> None:
    with pytest.raises(BadConfig, match="carrier-grade NAT"):
        await check_target(f"http://{address}/x", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://metadata.google.internal/computeMetadata/v1/",
    ],
)
async def test_cloud_metadata_is_refused_even_where_private_targets_are_allowed(url: str) -> None:
    with pytest.raises(BadConfig, match="metadata"):
        await check_target(url, allow_private=True)
