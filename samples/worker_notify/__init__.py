"""Notifications from a background job and an HTTP endpoint, across nodes (``samples/run worker_notify``)."""
