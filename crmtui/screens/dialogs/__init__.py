"""crmtui.screens.dialogs package."""
