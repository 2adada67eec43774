"""Operator tools behind the admin routes: dead letters of every kind in one place."""
