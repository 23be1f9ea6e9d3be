"""``export-platform api``: the Export API served over HTTP."""

from __future__ import annotations

import click

from export_platform.api.config import MAX_PRESIGNED_SECONDS, ApiConfig
from export_platform.cli.refusals import checked_source_url


@click.command(short_help="Serve the Export API over HTTP.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port.")
@click.option(
    "--requests-per-minute",
    default=ApiConfig.requests_per_minute,
    show_default=True,
    type=click.IntRange(1),
    help="Each token's sustained request rate; more answer 429 with Retry-After.",
)
@click.option(
    "--burst",
    default=ApiConfig.burst,
    show_default=True,
    type=click.IntRange(1),
    help="Requests a token may send at once before the rate applies.",
)
@click.option(
    "--presigned-redirect",
    "presigned_redirect_seconds",
    default=0,
    show_default=True,
    envvar="EXPORT_API_PRESIGNED_REDIRECT_SECONDS",
    type=click.IntRange(0, MAX_PRESIGNED_SECONDS),
    help="On an S3 artifact root, answer downloads with a 302 to a presigned URL valid this many "
    "seconds, so files go from S3 straight to the client; 0 sends them through the API.",
)
def api(host: str, port: int, requests_per_minute: int, burst: int, presigned_redirect_seconds: int) -> None:
    """Serve the Export API: tenants' export history, notification settings and published files, for
    the bearer tokens of `export-platform tokens issue`.

    \b
    Example, beside `dg dev`:
        export-platform api --port 8080
        curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/v1/tenants/acme/history

    Reads EXPORT_SOURCE_URL and EXPORT_ARTIFACT_ROOT as the code location does; download links start
    with EXPORT_API_URL. The OpenAPI document is at /v1/openapi.json, interactive docs at /docs.
    """
    from export_platform.api.server import serve

    checked_source_url()  # refused here, not at the first request
    config = ApiConfig(
        requests_per_minute=requests_per_minute,
        burst=burst,
        presigned_redirect_seconds=presigned_redirect_seconds,
    )
    serve(config, host, port)
