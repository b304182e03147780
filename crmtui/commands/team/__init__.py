"""The team server's shell commands: sync, the server and its intake."""
