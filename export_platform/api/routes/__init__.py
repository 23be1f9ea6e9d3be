"""One module per resource group, each with its ``router``: under ``/v1/tenants/{tenant}/``, and the
signed downloads under ``/v1/downloads/``."""
