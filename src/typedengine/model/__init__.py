"""typedengine.model."""
