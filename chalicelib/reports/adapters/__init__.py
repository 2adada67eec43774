"""The reports adapters: the only code of this feature that talks to AWS or Redis."""
