"""The sales services: deals and their lines, the catalogue, prices, rates, quotes, leads, pipelines."""
