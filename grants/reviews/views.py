"""Views come next."""
