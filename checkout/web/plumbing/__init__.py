"""HTTP plumbing every room shares: security headers, body limits, problems, rate limits."""
