"""File upload: client-to-server streaming, hashed on the server (``samples/run upload``)."""
