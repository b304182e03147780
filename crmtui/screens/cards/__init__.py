"""crmtui.screens.cards package."""
