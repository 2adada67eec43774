"""The weekly summary's adapters: the Redis activity counters, the users scan."""
