"""Stock ticker: server-to-client streaming with cancellation (``samples/run stocks``)."""
