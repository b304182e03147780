"""crmtui.server package."""
