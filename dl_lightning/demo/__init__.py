"""The local web page for photos (``dl-demo``, ``make demo``): ``session`` does the work, ``app`` lays out the page."""
