"""The sales services: deals and their lines, catalogue, prices, rates, quotes, leads, pipelines."""
