"""What several features share: errors, clock, ids, paging, cursors, deadlines.

``adapters/`` holds the shared DynamoDB pieces (model base and binding, error translation) and
the health probes. Nothing here imports a feature.
"""
