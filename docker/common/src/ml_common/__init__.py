"""Code shared by the processing, training and inference images."""
