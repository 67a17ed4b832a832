-- What the server reports: `gauntlet/status` notifications and window/showMessage.

local M = {}

local levels = {
  [1] = vim.log.levels.ERROR,
  [2] = vim.log.levels.WARN,
  [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.DEBUG,
}

--- Stores the last status (`{state, text, tokens, cost, job}`) in `vim.g.gauntlet_status` for
--- statuslines, then fires `User GauntletStatus` with the status as its data.
function M.on_status(result, ctx)
  if type(result) ~= 'table' then
    return
  end
  local status = {
    state = result.state,
    text = result.text,
    tokens = result.tokens,
    cost = result.cost,
    job = result.job,
    client_id = ctx and ctx.client_id or nil,
  }
  vim.g.gauntlet_status = status
  vim.api.nvim_exec_autocmds('User', { pattern = 'GauntletStatus', modeline = false, data = status })
  if result.state == 'done' and status.client_id then
    -- A finished background fix shows as virtual text (the server's codeLens/refresh says so too).
    require('gauntlet.ready').refresh_client(status.client_id)
  end
end

function M.on_message(params, _)
  if type(params) ~= 'table' or type(params.message) ~= 'string' then
    return
  end
  local message = params.message
  if not vim.startswith(message, 'gauntlet') then
    message = 'gauntlet: ' .. message
  end
  vim.notify(message, levels[params.type] or vim.log.levels.INFO)
end

--- A short statusline string, e.g. "gauntlet: grading 2/3" or "" when nothing ran yet.
function M.statusline()
  local s = vim.g.gauntlet_status
  if type(s) ~= 'table' or not s.state then
    return ''
  end
  local text = s.text ~= nil and s.text ~= vim.NIL and tostring(s.text) or ''
  if text == '' or text == s.state then
    return 'gauntlet: ' .. s.state
  end
  return ('gauntlet: %s (%s)'):format(s.state, text)
end

return M
