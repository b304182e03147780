"""crmtui.screens.sections package."""
