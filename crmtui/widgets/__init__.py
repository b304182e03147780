"""crmtui.widgets package."""
