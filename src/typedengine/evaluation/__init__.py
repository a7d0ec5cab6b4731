"""typedengine.evaluation."""
