"""The language server's features: each owns its state and registers its own handlers
(gauntlet.server.lsp.Feature); gauntlet.server.handlers.create_server puts them together."""
