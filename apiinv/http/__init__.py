"""The shared HTTP layer: client, auth kinds, rate limiter and pagination strategies."""
