-- Drives one headless Neovim session against the real server; test_neovim_e2e.py writes the
-- init.lua that loads this file and reads the result JSON it writes.
--
-- Every wait is bounded; on any failure the result holds what was seen (messages, diagnostics,
-- buffer text, the tail of the LSP log) and Neovim exits non-zero.

return function(cfg)
  local gauntlet = require('gauntlet')
  local uv = vim.uv
  local t0 = uv.hrtime()
  local result = { ok = false, steps = {}, messages = {}, statuses = {}, progress = 0, pids = {} }

  local function ms()
    return math.floor((uv.hrtime() - t0) / 1e6)
  end
  local function step(name)
    result.steps[#result.steps + 1] = { name = name, ms = ms() }
  end

  -- What the user would see: plugin notifications and the server's showMessage (routed through
  -- vim.notify by the config's handler).
  vim.notify = function(msg, level)
    result.messages[#result.messages + 1] = { text = tostring(msg), level = level, ms = ms() }
  end
  vim.api.nvim_create_autocmd('User', {
    pattern = 'GauntletStatus',
    callback = function(ev)
      result.statuses[#result.statuses + 1] = ev.data
    end,
  })
  vim.api.nvim_create_autocmd('LspProgress', {
    callback = function()
      result.progress = result.progress + 1
    end,
  })

  -- Every request a client sends, by method (the plugin's own included): wrapped on the class
  -- before any client starts.
  result.sent = {}
  local Client = require('vim.lsp.client')
  local client_request = Client.request
  Client.request = function(self, method, ...)
    result.sent[method] = (result.sent[method] or 0) + 1
    return client_request(self, method, ...)
  end

  local bufnr

  local function diagnostics_seen()
    if not bufnr or not vim.api.nvim_buf_is_valid(bufnr) then
      return {}
    end
    return vim.tbl_map(function(d)
      return {
        lnum = d.lnum,
        col = d.col,
        end_col = d.end_col,
        source = d.source,
        code = d.code,
        message = d.message,
      }
    end, vim.diagnostic.get(bufnr))
  end

  local function snapshot()
    if bufnr and vim.api.nvim_buf_is_valid(bufnr) then
      result.buffer = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
    end
    result.diagnostics = diagnostics_seen()
    result.clients = vim.tbl_map(function(c)
      return { name = c.name, id = c.id, root = c.root_dir, stopped = c:is_stopped() }
    end, vim.lsp.get_clients())
    local ok, out = pcall(vim.api.nvim_exec2, 'messages', { output = true })
    result.echo_messages = ok and out.output or nil
    local log = io.open(vim.lsp.log.get_filename(), 'r')
    if log then
      local lines = vim.split(log:read('*a'), '\n', { plain = true })
      log:close()
      result.lsp_log_tail = table.concat(vim.list_slice(lines, math.max(1, #lines - 80)), '\n')
    end
  end

  local function write_result()
    local f = assert(io.open(cfg.result, 'w'))
    f:write(vim.json.encode(result))
    f:close()
  end

  local function wait(timeout, cond, what)
    if not vim.wait(timeout, cond, 20) then
      error(('timed out after %d ms waiting for %s'):format(timeout, what), 0)
    end
  end

  local function record_children()
    for _, pid in ipairs(vim.api.nvim_get_proc_children(vim.fn.getpid())) do
      local info = vim.api.nvim_get_proc(pid)
      result.pids[tostring(pid)] = info and info.name or '?'
    end
  end

  local function stop_servers()
    record_children()
    for _, client in ipairs(vim.lsp.get_clients()) do
      client:stop()
    end
    local stopped = vim.wait(10000, function()
      for _, client in ipairs(vim.lsp.get_clients()) do
        if not client:is_stopped() then
          return false
        end
      end
      return #vim.api.nvim_get_proc_children(vim.fn.getpid()) == 0
    end, 50)
    result.servers_stopped = stopped
    result.children_left = vim.api.nvim_get_proc_children(vim.fn.getpid())
  end

  local function buffer_text()
    return table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
  end

  -- Runs :GauntletCandidates and records its scratch buffer (or -1 if it opened none).
  local function open_candidates()
    local report
    gauntlet.candidates({
      bufnr = bufnr,
      on_done = function(b)
        report = b or -1
      end,
    })
    wait(cfg.command_ms, function()
      return report ~= nil
    end, ':GauntletCandidates to open its report')
    if report ~= -1 then
      result.candidates = {
        name = vim.api.nvim_buf_get_name(report),
        filetype = vim.bo[report].filetype,
        buftype = vim.bo[report].buftype,
        text = table.concat(vim.api.nvim_buf_get_lines(report, 0, -1, false), '\n'),
        windows = #vim.api.nvim_tabpage_list_wins(0),
      }
      vim.cmd('close')
    end
    step('candidates')
  end

  -- What the user sees of the fixes prepared in the background: the plugin's virtual text.
  local function ready_marks()
    local ns = vim.api.nvim_get_namespaces()['gauntlet.ready']
    if not ns then
      return {}
    end
    return vim.tbl_map(function(m)
      local text, hl = {}, nil
      for _, chunk in ipairs(m[4].virt_text or {}) do
        text[#text + 1] = chunk[1]
        hl = hl or chunk[2]
      end
      return { line = m[2], text = table.concat(text), pos = m[4].virt_text_pos, hl = hl }
    end, vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true }))
  end

  -- :GauntletAccept as typed, and what it reported (User GauntletFix).
  local function accept()
    local done
    vim.api.nvim_create_autocmd('User', {
      pattern = 'GauntletFix',
      once = true,
      callback = function(ev)
        done = ev.data
      end,
    })
    vim.cmd('GauntletAccept')
    wait(cfg.command_ms, function()
      return done ~= nil
    end, ':GauntletAccept to finish')
    return done
  end

  -- proactive "onDiagnostic" (cfg.expect_ready): the fix shows without a request, typing on its
  -- line takes it away, the fix of the next version (undone and saved) shows and :GauntletAccept
  -- applies it.
  -- proactive "off": nothing shows and :GauntletAccept has nothing to apply.
  local function ready()
    if not cfg.expect_ready then
      -- Past the server's debounce (1 s) and a job's head start: nothing may show.
      vim.wait(cfg.off_wait_ms, function()
        return #ready_marks() > 0
      end, 50)
      result.ready_marks = ready_marks()
      result.accept = accept()
      result.buffer_after_accept = buffer_text()
      step('nothing shown')
      return
    end
    wait(cfg.fix_ms, function()
      return #ready_marks() > 0
    end, 'a verified fix shown as virtual text')
    step('ready shown')
    result.ready_marks = ready_marks()
    result.sent_when_ready = vim.deepcopy(result.sent)

    -- Typing on the fix's line: the virtual text goes in the same step.
    vim.api.nvim_win_set_cursor(0, { cfg.target_line + 1, 0 })
    vim.api.nvim_feedkeys(vim.keycode('A  # typed<Esc>'), 'xt', false)
    result.buffer_after_typing = buffer_text()
    result.marks_after_typing = ready_marks()
    -- Asked again, for the typed version the server offers nothing.
    local shown = 'pending'
    require('gauntlet.ready').refresh(bufnr, function(n)
      shown = n
    end)
    wait(cfg.command_ms, function()
      return shown ~= 'pending'
    end, 'the lenses of the typed version')
    result.shown_after_typing = shown
    result.marks_after_typing_refresh = ready_marks()
    -- Nothing is ready now: :GauntletAccept says so and changes nothing.
    result.accept_after_typing = accept()
    result.buffer_after_refused = buffer_text()
    step('typed')

    -- Undo and save: the broken text again, as a new version; the server finds its findings on
    -- the save (the save comes within the second a change's own findings wait for the text to
    -- be still), and prepares and shows its own fix.
    vim.cmd('silent undo')
    vim.cmd('write')
    wait(cfg.fix_ms, function()
      return #ready_marks() > 0
    end, 'the fix of the new version shown as virtual text')
    step('ready shown again')
    result.ready_marks_again = ready_marks()
    -- From the docstring, away from the fix: the nearest fix (the only one) is applied.
    vim.api.nvim_win_set_cursor(0, { 1, 0 })
    result.accept = accept()
    result.buffer_after_accept = buffer_text()
    result.marks_after_accept = ready_marks()
    step('accepted')
  end

  local FIX_ALL = 'source.fixAll.gauntlet'

  -- Fix-all: the code action of kind source.fixAll.gauntlet over the server's own diagnostics,
  -- resolved once (its final title is what a menu would show), then applied the configured way:
  -- cfg.fix_all_apply = 'code_action' (the stock vim.lsp.buf.code_action with that `only` and
  -- apply = true) or 'plugin' (require('gauntlet').fix_all_sync, what a save runs).
  local function fix_all(client)
    wait(cfg.diagnostics_ms, function()
      local n = 0
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        if d.code == cfg.fix_all_code then
          n = n + 1
        end
      end
      return n >= cfg.fix_all_count
    end, ('%d %s diagnostics'):format(cfg.fix_all_count, cfg.fix_all_code))
    step('fix-all diagnostics')
    result.fix_all_diagnostics = diagnostics_seen()

    -- Every workspace edit applied from here on is counted and starts an undo step of its own,
    -- as edits applied at separate times would: a fix-all applied as one edit is one :undo.
    local apply_workspace_edit = vim.lsp.util.apply_workspace_edit
    result.workspace_edits = 0
    vim.lsp.util.apply_workspace_edit = function(...)
      result.workspace_edits = result.workspace_edits + 1
      vim.cmd('let &undolevels = &undolevels')
      return apply_workspace_edit(...)
    end

    -- The cursor on the docstring: the request is about the file, not a line.
    vim.api.nvim_win_set_cursor(0, { 1, 0 })
    local diagnostics = vim.tbl_map(function(d)
      return gauntlet.to_lsp_diagnostic(bufnr, d, client.offset_encoding)
    end, vim.diagnostic.get(bufnr))
    local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
    params.context = { diagnostics = diagnostics, only = { FIX_ALL }, triggerKind = 1 }
    local answered, actions
    client:request('textDocument/codeAction', params, function(err, res)
      actions = err and { error = tostring(err.message or err) } or (res or {})
      answered = true
    end, bufnr)
    wait(cfg.command_ms, function()
      return answered
    end, 'the fix-all code action')
    result.fix_all_actions = vim.tbl_map(function(a)
      return { title = a.title, kind = a.kind, has_edit = a.edit ~= nil }
    end, actions.error and {} or actions)
    step('fix-all requested')
    local pending
    for _, a in ipairs(actions.error and {} or actions) do
      if a.kind == FIX_ALL then
        pending = a
      end
    end
    if not pending then
      error('no ' .. FIX_ALL .. ' action: ' .. vim.inspect(actions), 0)
    end

    -- codeAction/resolve waits for the job (the server's automaticTimeout bounds it).
    local resolved
    client:request('codeAction/resolve', pending, function(err, res)
      resolved = err and { error = tostring(err.message or err) } or (res or {})
    end, bufnr)
    wait(cfg.fix_ms, function()
      return resolved ~= nil
    end, 'the fix-all action to resolve')
    result.fix_all_resolved = { title = resolved.title, has_edit = resolved.edit ~= nil, error = resolved.error }
    step('fix-all resolved')

    -- Now apply it, as the user would: the job is done, so the action comes with its edit.
    local tick = vim.api.nvim_buf_get_changedtick(bufnr)
    local seq = vim.fn.undotree(bufnr).seq_last
    if cfg.fix_all_apply == 'plugin' then
      result.fix_all_status = gauntlet.fix_all_sync(bufnr, cfg.fix_ms)
    else
      local offered = {}
      vim.lsp.buf.code_action({
        context = { diagnostics = diagnostics, only = { FIX_ALL }, triggerKind = 1 },
        apply = true,
        filter = function(a)
          offered[#offered + 1] = { title = a.title, kind = a.kind, has_edit = a.edit ~= nil }
          return true
        end,
      })
      -- Bounded: if nothing is applied the checks on the buffer say so.
      vim.wait(cfg.command_ms, function()
        return result.workspace_edits > 0
      end, 20)
      result.fix_all_offered = offered
    end
    step('fix-all applied')
    result.fix_all_changed = vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
    result.undo_steps = vim.fn.undotree(bufnr).seq_last - seq
    result.buffer_after_fix = buffer_text()
    open_candidates()
  end

  local function run()
    vim.cmd.edit(vim.fn.fnameescape(cfg.file))
    bufnr = vim.api.nvim_get_current_buf()
    result.original = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n') .. '\n'
    wait(cfg.attach_ms, function()
      return gauntlet.client(bufnr) ~= nil and gauntlet.client(bufnr).initialized
    end, 'the gauntlet client to attach')
    local client = assert(gauntlet.client(bufnr))
    result.offset_encoding = client.offset_encoding
    result.root_dir = client.root_dir
    step('attached')
    record_children()

    -- The server's own findings arrive as diagnostics once its graders are ready.
    wait(cfg.diagnostics_ms, function()
      for _, d in ipairs(vim.diagnostic.get(bufnr)) do
        if type(d.source) == 'string' and vim.startswith(d.source, 'gauntlet/') then
          return true
        end
      end
      return false
    end, 'diagnostics from the server')
    step('diagnostics')
    result.server_diagnostics = diagnostics_seen()
    for _, d in ipairs(vim.diagnostic.get(bufnr)) do
      if d.code == 'F401' then
        -- This one came from an LSP server: converting it must hand back its own record.
        result.converted_f401 = gauntlet.line_diagnostics(bufnr, d.lnum, client)
      end
    end

    if cfg.mode == 'fix' then
      -- Another tool (pyright, say) flags mean's division; :GauntletFix sends the line's
      -- diagnostics with the code action request, as a real setup with two servers would.
      -- cfg.own_diagnostic: the server's own diagnostic on the line is the one to fix (no other
      -- tool's is added).
      local ns = vim.api.nvim_create_namespace('fake-pyright')
      vim.diagnostic.set(ns, bufnr, cfg.own_diagnostic and {} or {
        {
          lnum = cfg.target_line,
          col = cfg.target_col,
          end_lnum = cfg.target_line,
          end_col = cfg.target_end_col,
          severity = vim.diagnostic.severity.ERROR,
          message = 'ZeroDivisionError when values is empty',
          source = 'pyright',
          code = 'reportZeroDivision',
        },
      })
      vim.api.nvim_win_set_cursor(0, { cfg.target_line + 1, cfg.target_col + 1 })
      result.converted_target = gauntlet.line_diagnostics(bufnr, cfg.target_line, client)
      local tick = vim.api.nvim_buf_get_changedtick(bufnr)
      local fixed
      vim.api.nvim_create_autocmd('User', {
        pattern = 'GauntletFix',
        once = true,
        callback = function(ev)
          fixed = ev.data
        end,
      })
      vim.cmd('GauntletFix')
      wait(cfg.fix_ms, function()
        return fixed ~= nil
      end, ':GauntletFix to finish')
      step('fixed')
      result.fix = fixed
      result.buffer_changed = vim.api.nvim_buf_get_changedtick(bufnr) ~= tick
      result.buffer_after_fix = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), '\n')
        .. '\n'
      -- The server explains a rejected job with showMessage; it comes before the resolve reply.
      if fixed.status ~= 'applied' then
        vim.wait(5000, function()
          for _, m in ipairs(result.messages) do
            if m.text:find('candidates', 1, true) then
              return true
            end
          end
          return false
        end, 20)
      end

      open_candidates()
    end

    if cfg.mode == 'fixall' then
      fix_all(client)
    end

    -- :GauntletComplete on the blank line of an unfinished function: the verified continuation is
    -- inserted in place of the line (the server answers an invoked inline completion).
    if cfg.mode == 'complete' then
      vim.api.nvim_win_set_cursor(0, { cfg.target_line + 1, 0 })
      local done
      vim.api.nvim_create_autocmd('User', {
        pattern = 'GauntletFix',
        once = true,
        callback = function(ev)
          done = ev.data
        end,
      })
      gauntlet.complete()
      wait(cfg.fix_ms, function()
        return done ~= nil
      end, ':GauntletComplete to finish')
      step('completed')
      result.fix = done
      result.buffer_after_fix = buffer_text()
    end

    if cfg.mode == 'ready' then
      ready()
    end

    -- Save; with fix-all on save the BufWritePre wait is bounded by fix_all_timeout_ms.
    vim.api.nvim_set_current_buf(bufnr)
    local w0 = uv.hrtime()
    vim.cmd('write')
    if cfg.write_all then
      -- A fix across files leaves the other files' buffers modified, as in any editor: save them.
      vim.cmd('wall')
    end
    result.write_ms = math.floor((uv.hrtime() - w0) / 1e6)
    step('written')
    result.modified_after_write = vim.bo[bufnr].modified

    if cfg.retry then
      local f = assert(io.open(cfg.file, 'r'))
      result.disk_before_retry = f:read('*a')
      f:close()
      local retried
      vim.api.nvim_create_autocmd('User', {
        pattern = 'GauntletFix',
        once = true,
        callback = function(ev)
          retried = ev.data
        end,
      })
      vim.cmd('GauntletRetry')
      wait(cfg.fix_ms, function()
        return retried ~= nil
      end, ':GauntletRetry to finish')
      step('retried')
      result.retry = retried
      vim.cmd('write')
    end

    if cfg.mode == 'fixall' then
      -- One :undo after the save takes the whole fix-all back (the file on disk keeps it).
      vim.cmd('silent undo')
      result.buffer_after_undo = buffer_text()
    end
  end

  local ok, err = xpcall(run, debug.traceback)
  snapshot()
  stop_servers()
  step('stopped')
  result.error = not ok and tostring(err) or nil
  local expected = cfg.expect_status ~= vim.NIL and cfg.expect_status or nil
  local status = result.fix and result.fix.status
  result.ok = ok and (expected == nil or status == expected)
  write_result()
  if result.ok then
    vim.cmd('qall!')
  else
    vim.cmd('cquit 3')
  end
end
