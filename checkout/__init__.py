"""T-Pay hosted checkout: merchant API, hosted page, acquirer drivers and their sandboxes."""
