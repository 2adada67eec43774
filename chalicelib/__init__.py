"""books-api application package: everything here ships to Lambda with app.py."""
