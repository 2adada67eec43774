"""HTTP entry points: Chalice blueprints with thin routes."""
