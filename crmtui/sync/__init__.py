"""crmtui.sync package."""
