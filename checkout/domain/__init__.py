"""Pure rules of the checkout: money and the state machines. No I/O lives here."""
