"""Data quality: the duplicate scan (and its child process) and the merge preview."""
