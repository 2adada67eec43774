"""Use cases. Each takes its dependencies (repositories, stores, mailers) as arguments."""
