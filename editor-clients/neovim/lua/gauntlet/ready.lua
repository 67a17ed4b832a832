-- Verified fixes the server prepared in the background (the `proactive` setting), shown as
-- virtual text at the problem. They come from the server's code lenses: a lens whose command is
-- `gauntlet.applyFix` is a finished, verified fix on the document's current version.
--
-- The lenses are asked for when the server attaches, after a save, when the server sends
-- workspace/codeLens/refresh (a background fix finished) and after a `gauntlet/status` saying a
-- job is done. Any change of the buffer clears them at once: the server offers nothing for an old
-- version, and an answer to a request made before the change is dropped.

local M = {}

local NAME = 'gauntlet'
local APPLY_FIX = 'gauntlet.applyFix'

M.ns = vim.api.nvim_create_namespace('gauntlet.ready')
M.hint = ' — :GauntletAccept'
--- Set by setup({ ready_virtual_text = false }) to show nothing.
M.enabled = true

---@class gauntlet.ReadyFix
---@field line integer 0-based line of the lens (the diagnostic's line)
---@field title string e.g. "✓ verified fix ready (2/2 tests, risk low)"
---@field command lsp.Command `gauntlet.applyFix` with the job id
---@field client_id integer
---@field version integer The buffer version the lens was given for

---@type table<integer, { version: integer, fixes: gauntlet.ReadyFix[] }>
local state = {}
---@type table<integer, true>
local watching = {}

local function client_of(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr, name = NAME })[1]
end

--- Whether `client` prepares fixes in the background: its `proactive` setting is not "off".
---@param client? vim.lsp.Client
function M.active(client)
  if not M.enabled or not client or client:is_stopped() then
    return false
  end
  local settings = type(client.settings) == 'table' and client.settings.gauntlet or nil
  local mode = type(settings) == 'table' and settings.proactive or 'off'
  return type(mode) == 'string' and mode ~= 'off'
end

--- Drops the fixes shown in `bufnr`.
function M.clear(bufnr)
  state[bufnr] = nil
  if vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  end
end

--- Clears the virtual text on any change of the buffer, in the same step as the change (typing,
--- undo, a paste, an edit applied by a plugin), before TextChanged/TextChangedI would fire.
local function watch(bufnr)
  if watching[bufnr] then
    return
  end
  watching[bufnr] = true
  vim.api.nvim_buf_attach(bufnr, false, {
    on_lines = function(_, buf)
      if not watching[buf] then
        return true
      end
      if state[buf] then
        M.clear(buf)
      end
    end,
    on_reload = function(_, buf)
      M.clear(buf)
    end,
    on_detach = function(_, buf)
      watching[buf] = nil
      state[buf] = nil
    end,
  })
end

local function highlight()
  if vim.tbl_isempty(vim.api.nvim_get_hl(0, { name = 'GauntletFixReady' })) then
    vim.api.nvim_set_hl(0, 'GauntletFixReady', { link = 'DiagnosticOk', default = true })
  end
end

local function render(bufnr, version, fixes)
  M.clear(bufnr)
  if #fixes == 0 then
    return
  end
  highlight()
  local last = vim.api.nvim_buf_line_count(bufnr) - 1
  for _, fix in ipairs(fixes) do
    fix.line = math.max(0, math.min(fix.line, last))
    vim.api.nvim_buf_set_extmark(bufnr, M.ns, fix.line, 0, {
      virt_text = { { fix.title .. M.hint, 'GauntletFixReady' } },
      virt_text_pos = 'eol',
      hl_mode = 'combine',
    })
  end
  state[bufnr] = { version = version, fixes = fixes }
end

--- Asks the server for its lenses on `bufnr` and shows the verified fixes among them; clears the
--- buffer's virtual text when the feature is off. `on_done(n)` gets how many are shown (nil when
--- the answer came for a version the buffer has left).
---@param bufnr? integer
---@param on_done? fun(n: integer?)
function M.refresh(bufnr, on_done)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local client = client_of(bufnr)
  if not M.active(client) or not client:supports_method('textDocument/codeLens', bufnr) then
    M.clear(bufnr)
    if on_done then
      on_done(0)
    end
    return
  end
  ---@cast client vim.lsp.Client
  watch(bufnr)
  local version = vim.lsp.util.buf_versions[bufnr]
  -- The request flushes a pending didChange first, so the server answers for `version`.
  client:request('textDocument/codeLens', {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
  }, function(err, lenses)
    if not vim.api.nvim_buf_is_valid(bufnr) or vim.lsp.util.buf_versions[bufnr] ~= version then
      if on_done then
        on_done(nil)
      end
      return
    end
    local fixes = {}
    for _, lens in ipairs(not err and lenses or {}) do
      local command = lens.command
      if
        type(command) == 'table'
        and command.command == APPLY_FIX
        and type(command.title) == 'string'
        and type(lens.range) == 'table'
      then
        fixes[#fixes + 1] = {
          line = lens.range.start.line,
          title = command.title,
          command = command,
          client_id = client.id,
          version = version,
        }
      end
    end
    render(bufnr, version, fixes)
    if on_done then
      on_done(#fixes)
    end
  end, bufnr)
end

--- Refreshes every buffer `client_id` is attached to.
function M.refresh_client(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client or client.name ~= NAME then
    return
  end
  for _, bufnr in ipairs(vim.lsp.get_buffers_by_client_id(client_id)) do
    if M.active(client) or state[bufnr] then
      M.refresh(bufnr)
    end
  end
end

--- The fixes shown in `bufnr` (none once the buffer has changed since they were given).
---@return gauntlet.ReadyFix[]
function M.get(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local s = state[bufnr]
  if not s or vim.lsp.util.buf_versions[bufnr] ~= s.version then
    return {}
  end
  return s.fixes
end

--- The fix on line `lnum` (0-based), else the nearest one (the earlier of two as near).
---@return gauntlet.ReadyFix?
function M.nearest(bufnr, lnum)
  local best, distance
  for _, fix in ipairs(M.get(bufnr)) do
    local d = math.abs(fix.line - lnum)
    if not best or d < distance then
      best, distance = fix, d
    end
  end
  return best
end

return M
