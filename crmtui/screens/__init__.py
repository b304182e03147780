"""crmtui.screens package."""
