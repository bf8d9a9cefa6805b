"""Quiz: client results, the server asks and awaits the answer (``samples/run quiz``)."""
