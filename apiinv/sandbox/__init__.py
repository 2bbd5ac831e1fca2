"""Local imitations of the vendors' management APIs on 127.0.0.1, for tests, the demo and benchmarks."""
