"""typedengine.hooks."""
