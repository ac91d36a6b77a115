"""A photo animated at its own size: its moving region (sky, water) and, in time, the whole photo job."""
