"""The response report's chart for chat: a PNG comparing weeks (Slack gets it uploaded), and a
signed, expiring URL that draws it again (Teams cards show images by URL).

The URL names the tenant and the window and carries an HMAC of both with this installation's
session key: nobody can change the tenant in it, and it stops working after a week.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlencode

from bot.core import reports
from bot.core.services import Services
from cards.charts import weekly_png

PATH = "/reports/chart.png"
VALID_FOR = timedelta(days=7)


def _signature(key: bytes, tenant: str, since: str, expires: int) -> str:
    message = f"report-chart|{tenant}|{since}|{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:40]


def signed_url(services: Services, tenant: str, since: str, now: datetime) -> str:
    """Where the chart can be fetched without a key, for a week."""
    expires = int((now + VALID_FOR).timestamp())
    query = {
        "tenant": tenant,
        "since": since,
        "expires": str(expires),
        "sig": _signature(services.session_key, tenant, since, expires),
    }
    return f"{services.settings.public_url.rstrip('/')}{PATH}?{urlencode(query)}"


def allowed(
    services: Services, tenant: str, since: str, expires: str, sig: str, now: datetime
) -> bool:
    """Whether a chart URL is one this installation signed, and still valid."""
    if not expires.isdigit() or int(expires) < now.timestamp() or not services.session_key:
        return False
    expected = _signature(services.session_key, tenant, since, int(expires))
    return hmac.compare_digest(expected, sig)


async def png(services: Services, tenant: str, since: str) -> bytes:
    """The chart of the tenant's report over `since` (7d, 30d), drawn off the event loop."""
    ask = reports.ask_of(since, "priority")
    found = await reports.response(services, tenant, ask)
    title = f"Alerts and response times by week, last {since}"
    return await asyncio.to_thread(weekly_png, found["weeks"], title)
