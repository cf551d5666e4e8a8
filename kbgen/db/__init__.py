"""Database access: engines, the research tables as found in the wild, kbgen's own tables."""
