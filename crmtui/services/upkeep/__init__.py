"""The data-quality services: merge, duplicate decisions, import batches, undo."""
