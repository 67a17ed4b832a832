-- Config for `vim.lsp.config('gauntlet', ...)` / `vim.lsp.enable('gauntlet')` (Neovim 0.11+).
--
-- Settings reach the server three ways, all carrying the same flat camelCase table:
-- initializationOptions (read once at start), workspace/didChangeConfiguration and
-- workspace/configuration (section `gauntlet`).

local defaults = vim.deepcopy(require('gauntlet.defaults'))

---@type vim.lsp.Config
return {
  cmd = { 'gauntlet', 'serve' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'setup.py', 'setup.cfg', '.git' },
  settings = { gauntlet = defaults },
  init_options = vim.deepcopy(defaults),
  -- Whatever the user merged into settings.gauntlet (vim.lsp.config or setup()) is what the
  -- server reads at initialize, so init_options can never lag behind the settings.
  before_init = function(params, config)
    local s = config.settings and config.settings.gauntlet
    if type(s) == 'table' then
      params.initializationOptions = vim.deepcopy(s)
    end
  end,
  -- Neovim 0.11 does not say it takes workspace/codeLens/refresh; the server sends it when a
  -- background fix (the `proactive` setting) is ready, and the plugin then shows it.
  capabilities = { workspace = { codeLens = { refreshSupport = true } } },
  handlers = {
    ['gauntlet/status'] = function(_, result, ctx)
      require('gauntlet.status').on_status(result, ctx)
    end,
    ['workspace/codeLens/refresh'] = function(err, result, ctx)
      pcall(function()
        require('gauntlet.ready').refresh_client(ctx.client_id)
      end)
      -- Where Neovim has its own handler (0.12), stock code lenses are refreshed too.
      local stock = vim.lsp.handlers['workspace/codeLens/refresh']
      if stock then
        return stock(err, result, ctx)
      end
      return vim.NIL
    end,
    -- The server explains through showMessage why nothing was applied; route it through
    -- vim.notify so notification plugins show it (the stock handler only echoes).
    ['window/showMessage'] = function(_, params, ctx)
      require('gauntlet.status').on_message(params, ctx)
      return vim.NIL
    end,
  },
}
