"""Detection: the C core (src/, one public header) and its thin Python binding."""
