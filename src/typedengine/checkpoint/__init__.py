"""typedengine.checkpoint."""
