"""Features the hub ships as plugins, built only on the SDK and the public hooks."""
