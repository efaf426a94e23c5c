"""Reference model definitions that load real, packaged weights."""
