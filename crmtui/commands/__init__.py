"""Typer command groups in four folders by use (see docs/architecture.md), joined in `crmtui.cli`."""
