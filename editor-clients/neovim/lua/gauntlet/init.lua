-- gauntlet-lsp for Neovim 0.11+: setup(), :GauntletFix, :GauntletCandidates, :GauntletRetry,
-- :GauntletAccept (background fixes shown as virtual text, lua/gauntlet/ready.lua) and opt-in
-- fix-all on save. The LSP config itself lives in lsp/gauntlet.lua.

local M = {}

local NAME = 'gauntlet'
local FIX_ALL_KIND = 'source.fixAll.gauntlet'
-- Settings read by this client only; they are never sent to the server.
local CLIENT_ONLY = { path = true, fixAllOnSave = true }
local DEFAULT_KEYMAPS = {
  fix = '<leader>gf',
  candidates = '<leader>gc',
  retry = '<leader>gr',
  accept = '<leader>ga',
}

---@class gauntlet.Options
---@field cmd? string[] How to start the server; default { 'gauntlet', 'serve' }.
---@field settings? table Server settings (camelCase, see |gauntlet-settings|).
---@field fix_all_on_save? boolean Apply `source.fixAll.gauntlet` on :write. Default false.
---@field fix_all_timeout_ms? integer Longest a :write waits for the fix-all edit. Default 3000.
---@field keymaps? boolean|table true: the default maps; a table: { fix =, candidates =, retry = }.
---@field enable? boolean Call vim.lsp.enable('gauntlet'). Default true.
---@field ready_virtual_text? boolean Show background fixes (`proactive`) as virtual text. Default true.
---@field inline_completion? boolean Neovim 0.12+: also enable vim.lsp.inline_completion. Default false.

---@type gauntlet.Options
M.options = {
  cmd = nil,
  settings = {},
  fix_all_on_save = false,
  fix_all_timeout_ms = 3000,
  keymaps = false,
  enable = true,
  ready_virtual_text = true,
  inline_completion = false,
}

local function notify(message, level)
  vim.notify('gauntlet: ' .. message, level or vim.log.levels.INFO)
end

--- Fires `User GauntletFix` with what happened, so scripts (and tests) can follow an async fix.
local function finish(result, on_done)
  vim.api.nvim_exec_autocmds('User', { pattern = 'GauntletFix', modeline = false, data = result })
  if on_done then
    on_done(result)
  end
end

--- The gauntlet client attached to `bufnr`, if any.
---@return vim.lsp.Client?
function M.client(bufnr)
  return vim.lsp.get_clients({ bufnr = bufnr or 0, name = NAME })[1]
end

local function position(bufnr, lnum, col, encoding)
  local text = vim.api.nvim_buf_get_lines(bufnr, lnum, lnum + 1, false)[1] or ''
  col = math.max(0, math.min(col or 0, #text))
  return { line = lnum, character = vim.str_utfindex(text, encoding, col, false) }
end

--- One vim.Diagnostic as an LSP Diagnostic. A diagnostic that came from a language server keeps
--- the server's own LSP record (`user_data.lsp`: range, source, code, data, related information);
--- others (linters, plugins) are rebuilt with their byte columns converted to `encoding`.
---@param bufnr integer
---@param d vim.Diagnostic
---@param encoding string 'utf-8'|'utf-16'|'utf-32'
---@return lsp.Diagnostic
function M.to_lsp_diagnostic(bufnr, d, encoding)
  local original = type(d.user_data) == 'table' and d.user_data.lsp or nil
  if type(original) == 'table' and type(original.range) == 'table' and original.message then
    return original
  end
  local end_lnum = d.end_lnum or d.lnum
  local end_col = d.end_col or d.col
  local out = {
    range = {
      start = position(bufnr, d.lnum, d.col, encoding),
      ['end'] = position(bufnr, end_lnum, end_col, encoding),
    },
    message = d.message,
    -- vim.diagnostic.severity and LSP DiagnosticSeverity share the numbers 1 (error) to 4 (hint).
    severity = d.severity,
    source = d.source,
    code = d.code,
  }
  if d._tags then
    local tags = {}
    if d._tags.unnecessary then
      tags[#tags + 1] = 1
    end
    if d._tags.deprecated then
      tags[#tags + 1] = 2
    end
    out.tags = #tags > 0 and tags or nil
  end
  return out
end

--- The diagnostics of line `lnum` (0-based) as LSP diagnostics for `client`.
function M.line_diagnostics(bufnr, lnum, client)
  local encoding = client and client.offset_encoding or 'utf-16'
  return vim.tbl_map(function(d)
    return M.to_lsp_diagnostic(bufnr, d, encoding)
  end, vim.diagnostic.get(bufnr, { lnum = lnum }))
end

local function buffer_diagnostics(bufnr, client)
  return vim.tbl_map(function(d)
    return M.to_lsp_diagnostic(bufnr, d, client.offset_encoding)
  end, vim.diagnostic.get(bufnr))
end

--- Applies a WorkspaceEdit unless the buffer moved past the version it was made for. The stock
--- apply only prints "newer than edits" and returns, which would read as a silent success, and it
--- skips the check for version 0, which is what Neovim sends with didOpen: an edit made for an
--- unchanged buffer would land on one that was typed into while the server graded.
---@return boolean applied, string? why
local function apply_edit(edit, client, bufnr)
  if type(edit) ~= 'table' then
    return false, 'no edit'
  end
  for _, change in ipairs(edit.documentChanges or {}) do
    local doc = change.textDocument
    if doc and type(doc.version) == 'number' and doc.version >= 0 then
      local target = vim.uri_to_bufnr(doc.uri)
      local current = vim.lsp.util.buf_versions[target]
      if current and current > doc.version then
        return false, 'the buffer changed while grading; the fix was not applied'
      end
    end
  end
  vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding)
  if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
    vim.api.nvim_exec_autocmds('User', { pattern = 'GauntletApplied', modeline = false })
  end
  return true
end

--- Resolves `action` (waiting as long as the server grades; its requestTimeout bounds that) and
--- applies its edit. `on_done({ status = 'applied'|'no_fix'|'stale'|'error', ... })`.
local function resolve_and_apply(client, bufnr, action, on_done)
  local version = vim.lsp.util.buf_versions[bufnr]
  local function land(resolved)
    if type(resolved) ~= 'table' or type(resolved.edit) ~= 'table' then
      if vim.api.nvim_buf_is_valid(bufnr) and vim.lsp.util.buf_versions[bufnr] ~= version then
        -- An edit cancels the job on the server, which then answers without an edit or a reason.
        local why = 'the buffer changed while grading; nothing was applied'
        notify(why, vim.log.levels.WARN)
        return finish({ status = 'stale', title = action.title, message = why }, on_done)
      end
      notify('no verified fix', vim.log.levels.WARN)
      return finish({ status = 'no_fix', title = action.title }, on_done)
    end
    local ok, why = apply_edit(resolved.edit, client, bufnr)
    if not ok then
      notify(why, vim.log.levels.WARN)
      return finish({ status = 'stale', title = resolved.title, message = why }, on_done)
    end
    notify('applied: ' .. tostring(resolved.title))
    finish({ status = 'applied', title = resolved.title }, on_done)
  end
  if action.edit then
    return land(action)
  end
  if not client:supports_method('codeAction/resolve', bufnr) then
    notify('the server cannot resolve code actions', vim.log.levels.ERROR)
    return finish({ status = 'error', message = 'no codeAction/resolve' }, on_done)
  end
  client:request('codeAction/resolve', action, function(err, resolved)
    if err then
      notify('resolve failed: ' .. tostring(err.message or err), vim.log.levels.ERROR)
      return finish({ status = 'error', message = tostring(err.message or err) }, on_done)
    end
    land(resolved)
  end, bufnr)
end

--- Asks for the quick fix of the diagnostics on the cursor's line and applies it once verified.
---@param opts? { bufnr?: integer, on_done?: fun(result: table) }
function M.fix(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local on_done = opts.on_done
  local client = M.client(bufnr)
  if not client then
    notify('no gauntlet server is attached to this buffer', vim.log.levels.WARN)
    return finish({ status = 'error', message = 'not attached' }, on_done)
  end
  local win = vim.fn.bufwinid(bufnr)
  local cursor = vim.api.nvim_win_get_cursor(win ~= -1 and win or 0)
  local lnum, col = cursor[1] - 1, cursor[2]
  local diagnostics = M.line_diagnostics(bufnr, lnum, client)
  if #diagnostics == 0 then
    notify('no diagnostics on this line', vim.log.levels.WARN)
    return finish({ status = 'error', message = 'no diagnostics' }, on_done)
  end
  local here = position(bufnr, lnum, col, client.offset_encoding)
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = here, ['end'] = here },
    context = { diagnostics = diagnostics, only = { 'quickfix' }, triggerKind = 1 },
  }
  client:request('textDocument/codeAction', params, function(err, result)
    if err then
      notify('code action failed: ' .. tostring(err.message or err), vim.log.levels.ERROR)
      return finish({ status = 'error', message = tostring(err.message or err) }, on_done)
    end
    local action
    for _, a in ipairs(result or {}) do
      -- A bare Command has a string `command` and no kind; only CodeActions carry edits.
      if a.kind == 'quickfix' and type(a.command) ~= 'string' then
        action = a
        break
      end
    end
    if not action then
      notify('no fix offered for this line', vim.log.levels.WARN)
      return finish({ status = 'no_fix', message = 'no action' }, on_done)
    end
    if not action.edit then
      -- The pending title says what runs, e.g. "gauntlet: fix (grading 8 candidates...)".
      vim.notify(action.title or 'gauntlet: grading candidates...', vim.log.levels.INFO)
    end
    resolve_and_apply(client, bufnr, action, on_done)
  end, bufnr)
end

--- Runs a server command; `handler(err, result)`.
local function execute(bufnr, command, arguments, handler)
  local client = M.client(bufnr)
  if not client then
    notify('no gauntlet server is attached to this buffer', vim.log.levels.WARN)
    return
  end
  client:request('workspace/executeCommand', {
    command = command,
    arguments = arguments or {},
  }, function(err, result)
    handler(err, result, client)
  end, bufnr)
end

--- Opens the server's report on the last job's candidates in a scratch markdown split.
---@param opts? { bufnr?: integer, on_done?: fun(bufnr: integer?) }
function M.candidates(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  execute(bufnr, 'gauntlet.showCandidates', {}, function(err, result)
    if err or type(result) ~= 'table' or type(result.markdown) ~= 'string' then
      notify('no candidates to show: ' .. tostring(err and err.message or 'empty reply'))
      if opts.on_done then
        opts.on_done(nil)
      end
      return
    end
    local name = 'gauntlet://candidates'
    local old = vim.fn.bufnr(name)
    if old ~= -1 then
      vim.api.nvim_buf_delete(old, { force = true })
    end
    vim.cmd('botright new')
    local report = vim.api.nvim_get_current_buf()
    vim.bo[report].buftype = 'nofile'
    vim.bo[report].bufhidden = 'wipe'
    vim.bo[report].swapfile = false
    vim.api.nvim_buf_set_name(report, name)
    vim.api.nvim_buf_set_lines(report, 0, -1, false, vim.split(result.markdown, '\n', { plain = true }))
    vim.bo[report].modifiable = false
    vim.bo[report].filetype = 'markdown'
    if opts.on_done then
      opts.on_done(report)
    end
  end)
end

--- Runs the last job again and applies its edit if a candidate is verified this time.
---@param opts? { bufnr?: integer, on_done?: fun(result: table) }
function M.retry(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  execute(bufnr, 'gauntlet.retry', {}, function(err, result, client)
    if err or type(result) ~= 'table' or type(result.job) ~= 'string' then
      local why = err and err.message or (type(result) == 'table' and result.error) or 'no job'
      notify('retry: ' .. tostring(why), vim.log.levels.WARN)
      return finish({ status = 'error', message = tostring(why) }, opts.on_done)
    end
    notify('retrying (' .. result.job .. ')...')
    -- The server resolves any action carrying its job id, so the fresh job's edit comes back here.
    resolve_and_apply(client, bufnr, { title = 'gauntlet retry', data = { job = result.job } }, opts.on_done)
  end)
end

--- Applies the verified fix the server prepared in the background (shown as virtual text) on the
--- cursor's line, else the nearest one in the buffer: runs its lens's command `gauntlet.applyFix`,
--- which makes the server apply the versioned edit through workspace/applyEdit (or refuse when the
--- document moved on). `on_done({ status = 'applied'|'no_fix'|'stale'|'error', ... })`, and
--- `User GauntletFix` fires with the same.
---@param opts? { bufnr?: integer, on_done?: fun(result: table) }
function M.accept(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local on_done = opts.on_done
  local ready = require('gauntlet.ready')
  local win = vim.fn.bufwinid(bufnr)
  local lnum = vim.api.nvim_win_get_cursor(win ~= -1 and win or 0)[1] - 1
  local fix = ready.nearest(bufnr, lnum)
  if not fix then
    notify('no verified fix is ready in this buffer', vim.log.levels.WARN)
    return finish({ status = 'no_fix', message = 'none ready' }, on_done)
  end
  local client = vim.lsp.get_client_by_id(fix.client_id)
  if not client or client:is_stopped() then
    ready.clear(bufnr)
    notify('the gauntlet server is gone', vim.log.levels.WARN)
    return finish({ status = 'error', message = 'not attached' }, on_done)
  end
  client:request('workspace/executeCommand', {
    command = fix.command.command,
    arguments = fix.command.arguments or {},
  }, function(err, result)
    if err then
      notify('accept failed: ' .. tostring(err.message or err), vim.log.levels.ERROR)
      return finish({ status = 'error', message = tostring(err.message or err) }, on_done)
    end
    if type(result) == 'table' and result.applied == true then
      ready.clear(bufnr)
      vim.api.nvim_exec_autocmds('User', { pattern = 'GauntletApplied', modeline = false })
      notify('applied: ' .. fix.title)
      return finish({ status = 'applied', title = fix.title, line = fix.line }, on_done)
    end
    -- The server said why (window/showMessage); the lens is stale either way.
    local why = type(result) == 'table' and result.reason or 'not applied'
    ready.refresh(bufnr)
    return finish({ status = 'stale', title = fix.title, message = tostring(why) }, on_done)
  end, bufnr)
end

--- Completes the unfinished function at the cursor: with the cursor on a blank line of its body,
--- asks the server for an inline completion as the inline-suggest key would (trigger "invoked"):
--- the server asks the model for the lines that go there, grades them like a quick fix's
--- candidates and answers with the verified best only, which is inserted in place of the line.
--- `on_done({ status = 'applied'|'no_fix'|'stale'|'error', ... })`; `User GauntletFix` fires too.
---@param opts? { bufnr?: integer, on_done?: fun(result: table) }
function M.complete(opts)
  opts = opts or {}
  local bufnr = opts.bufnr or vim.api.nvim_get_current_buf()
  local on_done = opts.on_done
  local client = M.client(bufnr)
  if not client then
    notify('not attached to this buffer', vim.log.levels.WARN)
    return finish({ status = 'error', message = 'not attached' }, on_done)
  end
  local win = vim.fn.bufwinid(bufnr)
  local params = vim.lsp.util.make_position_params(win ~= -1 and win or 0, client.offset_encoding)
  params.context = { triggerKind = 1 } -- InlineCompletionTriggerKind.Invoked
  local tick = vim.api.nvim_buf_get_changedtick(bufnr)
  notify('completing (grading candidates)...')
  client:request('textDocument/inlineCompletion', params, function(err, result)
    if err then
      notify('completion failed: ' .. tostring(err.message or err), vim.log.levels.ERROR)
      return finish({ status = 'error', message = tostring(err.message or err) }, on_done)
    end
    local items = type(result) == 'table' and (result.items or result) or {}
    local item = items[1]
    if type(item) ~= 'table' or type(item.insertText) ~= 'string' or not item.range then
      -- The server says why nothing was verified (window/showMessage).
      return finish({ status = 'no_fix' }, on_done)
    end
    if vim.api.nvim_buf_get_changedtick(bufnr) ~= tick then
      notify('the buffer changed while grading; nothing inserted', vim.log.levels.WARN)
      return finish({ status = 'stale' }, on_done)
    end
    vim.lsp.util.apply_text_edits(
      { { range = item.range, newText = item.insertText } },
      bufnr,
      client.offset_encoding
    )
    notify('inserted a verified completion')
    return finish({ status = 'applied', text = item.insertText }, on_done)
  end, bufnr)
end

--- Fix-all for BufWritePre: applies `source.fixAll.gauntlet` only if it is verified within
--- `timeout_ms`; never waits longer. A dropped job keeps running on the server, so the next save
--- of the unchanged buffer gets its finished edit at once.
---@return string status 'applied'|'timeout'|'none'|'stale'|'error'
function M.fix_all_sync(bufnr, timeout_ms)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  timeout_ms = timeout_ms or M.options.fix_all_timeout_ms
  local client = M.client(bufnr)
  if not client then
    return 'none'
  end
  local state = { done = false, edit = nil, abandoned = false, request = nil }
  local params = {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
    range = { start = { line = 0, character = 0 }, ['end'] = { line = 0, character = 0 } },
    context = { diagnostics = buffer_diagnostics(bufnr, client), only = { FIX_ALL_KIND }, triggerKind = 2 },
  }
  local ok, id = client:request('textDocument/codeAction', params, function(err, result)
    if state.abandoned then
      return
    end
    local action
    for _, a in ipairs(not err and result or {}) do
      if a.kind == FIX_ALL_KIND then
        action = a
        break
      end
    end
    if not action then
      state.done = true
    elseif action.edit then
      state.edit, state.done = action.edit, true
    else
      local sent, rid = client:request('codeAction/resolve', action, function(rerr, resolved)
        if state.abandoned then
          return
        end
        if not rerr and type(resolved) == 'table' then
          state.edit = resolved.edit
        end
        state.done = true
      end, bufnr)
      state.request = sent and rid or nil
      state.done = not sent
    end
  end, bufnr)
  state.request = ok and id or nil
  if not ok then
    return 'error'
  end
  local finished = vim.wait(timeout_ms, function()
    return state.done
  end, 10)
  if not finished then
    state.abandoned = true
    if state.request then
      client:cancel_request(state.request)
    end
    notify(('fix-all not verified within %d ms; saved without it'):format(timeout_ms), vim.log.levels.DEBUG)
    return 'timeout'
  end
  if type(state.edit) ~= 'table' then
    return 'none'
  end
  local applied, why = apply_edit(state.edit, client, bufnr)
  if not applied then
    notify(tostring(why), vim.log.levels.WARN)
    return 'stale'
  end
  return 'applied'
end

local function set_keymaps(bufnr, maps)
  local function map(lhs, rhs, desc)
    if type(lhs) == 'string' and lhs ~= '' then
      vim.keymap.set('n', lhs, rhs, { buffer = bufnr, desc = desc, silent = true })
    end
  end
  map(maps.fix, M.fix, 'gauntlet: verified fix for this line')
  map(maps.candidates, M.candidates, 'gauntlet: show candidates')
  map(maps.retry, M.retry, 'gauntlet: retry')
  map(maps.accept, M.accept, 'gauntlet: apply the verified fix ready here')
end

--- Splits user settings into what the server gets and the client-only keys.
local function server_settings(settings)
  local defaults = require('gauntlet.defaults')
  local out = vim.deepcopy(defaults)
  for key, value in pairs(settings or {}) do
    if CLIENT_ONLY[key] then
      -- read by setup(), never sent
    elseif defaults[key] == nil then
      notify(('unknown setting %q ignored'):format(key), vim.log.levels.WARN)
    else
      out[key] = value
    end
  end
  return out
end

---@param opts? gauntlet.Options
function M.setup(opts)
  opts = opts or {}
  vim.validate('opts.cmd', opts.cmd, 'table', true)
  vim.validate('opts.settings', opts.settings, 'table', true)
  vim.validate('opts.fix_all_on_save', opts.fix_all_on_save, 'boolean', true)
  vim.validate('opts.fix_all_timeout_ms', opts.fix_all_timeout_ms, 'number', true)
  vim.validate('opts.keymaps', opts.keymaps, { 'boolean', 'table' }, true)
  vim.validate('opts.enable', opts.enable, 'boolean', true)
  vim.validate('opts.ready_virtual_text', opts.ready_virtual_text, 'boolean', true)
  vim.validate('opts.inline_completion', opts.inline_completion, 'boolean', true)
  local o = vim.tbl_extend('force', M.options, opts)
  local user = o.settings or {}
  if o.fix_all_on_save == false and opts.fix_all_on_save == nil and user.fixAllOnSave ~= nil then
    o.fix_all_on_save = user.fixAllOnSave == true
  end
  M.options = o

  local settings = server_settings(user)
  local config = { settings = { gauntlet = settings }, init_options = vim.deepcopy(settings) }
  if o.cmd then
    config.cmd = o.cmd
  elseif type(user.path) == 'string' and user.path ~= '' then
    config.cmd = { user.path, 'serve' }
  end
  vim.lsp.config(NAME, config)

  vim.api.nvim_create_user_command('GauntletFix', function()
    M.fix()
  end, { desc = 'gauntlet: apply the verified fix for the diagnostics on this line' })
  vim.api.nvim_create_user_command('GauntletCandidates', function()
    M.candidates()
  end, { desc = "gauntlet: show the last job's graded candidates" })
  vim.api.nvim_create_user_command('GauntletRetry', function()
    M.retry()
  end, { desc = 'gauntlet: run the last job again' })
  vim.api.nvim_create_user_command('GauntletAccept', function()
    M.accept()
  end, { desc = 'gauntlet: apply the verified fix ready on (or nearest) this line' })
  vim.api.nvim_create_user_command('GauntletComplete', function()
    M.complete()
  end, { desc = 'gauntlet: complete the unfinished function at the cursor (verified)' })

  local ready = require('gauntlet.ready')
  ready.enabled = o.ready_virtual_text ~= false
  local group = vim.api.nvim_create_augroup('gauntlet', { clear = true })
  -- Background fixes as virtual text: asked for on attach and after a save; the server's
  -- workspace/codeLens/refresh and gauntlet/status (lsp/gauntlet.lua) ask again when one finishes.
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    desc = 'gauntlet: verified fixes ready',
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= NAME then
        return
      end
      ready.refresh(args.buf)
      local inline = vim.lsp.inline_completion -- Neovim 0.12+
      if o.inline_completion and inline and type(inline.enable) == 'function' then
        pcall(inline.enable, true, { bufnr = args.buf, client_id = client.id })
      end
    end,
  })
  vim.api.nvim_create_autocmd('BufWritePost', {
    group = group,
    desc = 'gauntlet: verified fixes ready after a save',
    callback = function(args)
      if M.client(args.buf) then
        ready.refresh(args.buf)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == NAME then
        ready.clear(args.buf)
      end
    end,
  })
  if o.fix_all_on_save then
    vim.api.nvim_create_autocmd('BufWritePre', {
      group = group,
      desc = 'gauntlet: fix-all on save',
      callback = function(args)
        if M.client(args.buf) then
          M.fix_all_sync(args.buf, M.options.fix_all_timeout_ms)
        end
      end,
    })
  end
  if o.keymaps then
    local maps = o.keymaps == true and DEFAULT_KEYMAPS or vim.tbl_extend('force', DEFAULT_KEYMAPS, o.keymaps)
    vim.api.nvim_create_autocmd('LspAttach', {
      group = group,
      callback = function(args)
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        if client and client.name == NAME then
          set_keymaps(args.buf, maps)
        end
      end,
    })
  end
  if o.enable then
    vim.lsp.enable(NAME)
  end
end

M.statusline = function()
  return require('gauntlet.status').statusline()
end

return M
