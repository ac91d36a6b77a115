"""Dataset builders: the procedural synthetic timelapses and converters for real photos/videos."""
