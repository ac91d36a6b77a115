"""The procedural worlds the project renders: ``landscape`` (the GAN's synthetic time-lapses: ridges, grass,
conifers, a lake, clouds, a sun, the time of day) with its dataset builder and reference stills (``dataset``), and
``photo_world`` (photo-like scenes for the photo segmenter and the moving-region hard cases) with its dataset
builder (``world_dataset``)."""
