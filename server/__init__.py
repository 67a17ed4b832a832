"""The language server, proposers, job scheduling and edits."""
