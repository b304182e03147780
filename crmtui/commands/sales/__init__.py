"""The sales shell commands: deals, deal lines, leads, pipeline, products, rates, quotes, territory."""
