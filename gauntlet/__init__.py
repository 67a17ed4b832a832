"""gauntlet-lsp: propose N candidate edits, grade each like CI would, offer only the verified best."""

__version__ = "0.1.0"
