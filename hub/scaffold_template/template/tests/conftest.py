# The hub lends the SDK's contract kit its mapping engine (fixture ``kpihub_mapper``).
pytest_plugins = ["hub.testing"]
