"""typedengine.runner."""
