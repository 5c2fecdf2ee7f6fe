"""Award pages."""
