"""Facts read from media files themselves (headers, durations), and tiny files made offline."""
