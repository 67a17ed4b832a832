"""Sandbox, graders and ranking: plain inputs, plain records, no LSP types."""
