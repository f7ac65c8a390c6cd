"""Emulator of the Bank 131 / Smart Glocal session API and its simulated T-Bank app."""
