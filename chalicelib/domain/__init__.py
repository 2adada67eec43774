"""Domain: entities, validation rules and errors. No AWS, Redis or PynamoDB in here."""
