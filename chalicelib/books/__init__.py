"""Books: each user's private catalogue, with ISBN uniqueness and a Redis read cache.

``domain.py`` and ``isbn.py`` hold the validation rules, ``service.py`` the use cases,
``ports.py`` the interfaces; ``adapters/`` the books table and the Redis cache.
"""
