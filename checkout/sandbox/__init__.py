"""Emulators of the acquirers, speaking their real wire formats, plus a simulated T-Bank app.

Nothing here imports from `checkout.acquirers`: shared shape definitions would hide a field-name
bug on both sides at once. Tests enforce it.
"""
