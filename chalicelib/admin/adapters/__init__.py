"""The admin tools' adapters: what the operators' routes read and change across the system."""
