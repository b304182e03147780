"""Sync with the server: the client, the wire format, merging, and applying pulled changes locally."""
