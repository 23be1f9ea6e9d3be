"""Where the project's files and its installed commands are, for tests that start real processes."""

from __future__ import annotations

import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]  # workspace.yaml, dagster.yaml, bench/ and README.md
BIN = Path(sys.executable).parent  # the environment's commands: dagster-daemon, export-platform, ...
