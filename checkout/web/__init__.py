"""HTTP only: parse, call the flow, render. No payment logic lives here."""
