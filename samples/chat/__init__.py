"""The chat sample: rooms, direct messages, typing, online count, reconnects."""
