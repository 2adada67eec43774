"""Accounts: registration, login, JWT access tokens and the caller's profile.

``domain.py`` holds the rules (email and password checks, roles), ``service.py`` and
``tokens.py`` the use cases, ``ports.py`` the interfaces; ``adapters/`` the users table and
the JWT secret.
"""
