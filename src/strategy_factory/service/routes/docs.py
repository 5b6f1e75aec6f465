"""``/docs``: the interactive API documentation (Swagger UI) under a policy of its own.

FastAPI's Swagger UI page loads its script and styles from the jsDelivr CDN and starts
with one inline script. The page's Content-Security-Policy allows the CDN and exactly
that script, by its SHA-256 hash: no other inline script can run there either.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_CDN = "https://cdn.jsdelivr.net"
SWAGGER_FAVICON = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs_page(request: Request) -> HTMLResponse:
    """Swagger UI for this API's OpenAPI document."""
    root = request.scope.get("root_path", "").rstrip("/")
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
    )
    page.headers["Content-Security-Policy"] = docs_policy(page.body)
    return page


def docs_policy(html: bytes) -> str:
    """The policy of a docs page: its inline scripts (by hash) and the CDN, nothing else."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {SWAGGER_CDN} {hashes}",
            f"style-src 'self' 'unsafe-inline' {SWAGGER_CDN}",
            f"img-src 'self' data: {SWAGGER_FAVICON}",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
