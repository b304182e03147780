"""Read models for screens and reports: agenda, call queue, board, forecast, summary, scopes."""
