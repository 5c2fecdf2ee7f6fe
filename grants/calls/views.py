"""Officer pages for calls and the public call pages."""
