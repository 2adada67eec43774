"""The per-user status record that the bulk import writes and the reports consume.

``record.py`` owns its keys, fields, Lua scripts and parsing; ``adapters/redis_store.py`` runs
them on Redis for both sides.
"""
