"""Sample applications; run them with ``samples/run <name>`` from the repo root."""
