"""Which failures are worth retrying, and the retry policy the assets declare.

Transient: the source database unreachable or dropping a connection, S3 answering 5xx or not at all,
an SMTP server deferring. Everything else (an unknown tenant, invalid config, bad source data, a 4xx
from S3) fails at once: retrying would only repeat it.
"""

import contextlib
from collections.abc import Iterator

import dagster as dg

from export_platform.errors import SourceUnavailable, TransientDeliveryError

TRANSIENT_RETRY_POLICY = dg.RetryPolicy(
    max_retries=3, delay=1.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, SourceUnavailable | TransientDeliveryError | ConnectionError | TimeoutError):
        return True
    try:
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError
    except ImportError:  # pragma: no cover - botocore is a dependency
        return False
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500
    return False


@contextlib.contextmanager
def retry_only_transient_errors() -> Iterator[None]:
    """Let transient errors reach the step's retry policy; turn any other into a final failure."""
    try:
        yield
    except Exception as exc:
        if is_transient(exc):
            raise
        raise dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc
