"""One module per resource group under ``/v1/tenants/{tenant}/``, each with its ``router``."""
