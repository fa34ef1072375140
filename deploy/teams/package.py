"""`make teams-package`: the Teams app package (manifest and icons) as a zip to sideload."""

from __future__ import annotations

import json
import os
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent


def png(size: int, pixel: tuple[int, int, int, int], ring: tuple[int, int, int, int]) -> bytes:
    """A square RGBA PNG: a filled circle on a transparent background."""
    rows = []
    centre, radius = (size - 1) / 2, size * 0.42
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            inside = (x - centre) ** 2 + (y - centre) ** 2 <= radius**2
            row += bytes(pixel if inside else ring)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def main() -> int:
    app_id = os.environ.get("CHATOPS_TEAMS_APP_ID", "").strip()
    public = os.environ.get("CHATOPS_PUBLIC_URL", "").strip()
    if not app_id or not public.startswith("https://"):
        print(
            "teams-package: set CHATOPS_TEAMS_APP_ID (the bot's Microsoft App ID) and "
            "CHATOPS_PUBLIC_URL (the https:// address Teams reaches the bot at)",
            file=sys.stderr,
        )
        return 2
    manifest = (HERE / "manifest.json").read_text()
    for key, value in {
        "{{APP_ID}}": app_id,
        "{{PUBLIC_URL}}": public,
        "{{PUBLIC_HOST}}": urlsplit(public).hostname or "",
    }.items():
        manifest = manifest.replace(key, value)
    json.loads(manifest)  # still valid JSON after filling in
    out = Path("dist")
    out.mkdir(exist_ok=True)
    target = out / "chatops-teams.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", manifest)
        archive.writestr("color.png", png(192, (31, 41, 51, 255), (211, 47, 47, 255)))
        archive.writestr("outline.png", png(32, (255, 255, 255, 255), (0, 0, 0, 0)))
    print(f"wrote {target}: upload it in Teams under Apps > Manage your apps > Upload an app")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
