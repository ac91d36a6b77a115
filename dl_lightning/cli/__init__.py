"""Console entry points: dl-data, dl-train, dl-animate, dl-eval."""
