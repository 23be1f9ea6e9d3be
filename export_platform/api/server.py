"""Serve the app with uvicorn, logging uvicorn's start-up and errors and the platform's own lines
(the access log, problems the API met) to the console, and no line that holds a query string."""

from __future__ import annotations

import copy

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from export_platform.api.app import create_app
from export_platform.api.config import ApiConfig


def serve(config: ApiConfig, host: str, port: int) -> None:
    """Run the API until interrupted."""
    logging_config = copy.deepcopy(LOGGING_CONFIG)
    logging_config["loggers"]["export_platform"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    uvicorn.run(create_app(config), host=host, port=port, log_config=logging_config, access_log=False)
