"""Meta endpoints: models, tools and health."""
