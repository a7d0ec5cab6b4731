"""typedengine.data."""
