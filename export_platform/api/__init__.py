"""The Export API: tenants' users reach their exports over HTTP with bearer tokens.

The top layer, like ``cli.py``: it uses the platform's tables, artifact store and consumer API, and
nothing else of ``export_platform`` imports it. Run it with ``export-platform api``.

Layout, one job a module:

- ``app.py``: ``create_app(config)`` assembles the FastAPI app; ``ROUTERS`` lists every resource
  group, so a new one is a module under ``routes/`` and one line there.
- ``config.py``: ``ApiConfig``, the settings (the code location's environment, rate and body limits).
- ``platform.py``: ``Platform``, the handles routes reach the tables and stores through.
- ``auth.py``: bearer tokens -> ``Caller``; ``tenant_router()`` for paths under
  ``/v1/tenants/{tenant}``; the ``Viewer``, ``Exporter`` and ``Admin`` argument types a route
  declares the role it needs with.
- ``problems.py``: every error as an RFC 9457 problem document with a stable ``error_code``;
  ``not_found()`` is the one 404, for what is missing and what is someone else's.
- ``rate_limit.py``: a token bucket per API token (429 with ``Retry-After``).
- ``body_limit.py``: 413 for a request body over the limit.
- ``downloads.py``: a published file, verified against its manifest, whole or one byte range.
- ``export_entry.py``: a history row as the API shows it (the old system's export fields).
- ``cursor.py``: opaque page cursors.
- ``dagster_runs.py``: Dagster's webserver through its GraphQL API: launch a run, read one back for its
  tenant only. ``run_tags.py``: the tags of a run launched for a caller (tenant, user, who asked).
- ``export_run.py``: an export the API launched, as it shows it: status from the run, files from the
  history rows it made.
- ``request_bodies.py``: request bodies made from the platform's own request models (the ad-hoc
  request, a schedule), and their refusals as field errors.
- ``streamed_file.py``: a file sent in chunks while it is made; one that fails after the first byte
  ends without its last chunk.
- ``routes/``: ``history.py``, ``notifications.py``, ``artifacts.py``, ``exports.py``,
  ``schedules.py``, ``csv_stream.py`` (the synchronous CSV); ``signed_downloads.py``, the one route
  without a bearer token: the signed links of ``storage.signed_links``.

The tokens themselves (issue, list, revoke, verify) live in ``tracking.api_tokens``, beside the
other platform tables; ``export-platform tokens`` manages them.
"""
