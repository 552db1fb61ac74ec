-- pandoc filter for stasis-image(5): replaces the empty div of class
-- "image-format" with the contents of docs/image-format.md (path in the
-- metadata field image-format-md), so the format is described in one place.
-- That page's title is dropped, its sections move up one level (## becomes
-- a man page .SH, upper-cased as man pages have them), tables become lists
-- (a tbl table does not fit a narrow terminal), and sections for stasis
-- developers only are left out.

local developer_only = { ["Fuzzing"] = true }

local function upper_case(header)
  return pandoc.walk_block(header, {
    Str = function(s) return pandoc.Str(pandoc.text.upper(s.text)) end,
    Code = function(c) return pandoc.Code(pandoc.text.upper(c.text)) end,
  })
end

local function inlines_of(blocks)
  local out = pandoc.List()
  for i, b in ipairs(blocks) do
    if i > 1 then out:insert(pandoc.Space()) end
    if b.content then out:extend(b.content) end
  end
  return out
end

-- A table as a definition list: the first column is the term, each other
-- column a line "Header: value" under it. A numeric first column (offsets)
-- keeps its header in the term: "Offset 4".
local function table_as_list(tbl)
  local simple = pandoc.utils.to_simple_table(tbl)
  local items = {}
  for _, row in ipairs(simple.rows) do
    local term = inlines_of(row[1])
    if pandoc.utils.stringify(term):match("^%d+$") then
      term = pandoc.List({ pandoc.Str(pandoc.utils.stringify(simple.headers[1])), pandoc.Space() }) .. term
    end
    local lines = {}
    for col = 2, #row do
      local line = pandoc.List({ pandoc.Str(pandoc.utils.stringify(simple.headers[col]) .. ":"), pandoc.Space() })
      table.insert(lines, pandoc.Para(line .. inlines_of(row[col])))
    end
    table.insert(items, { term, { lines } })
  end
  return pandoc.DefinitionList(items)
end

local function image_format_blocks(path)
  local file = assert(io.open(path, "r"))
  local text = file:read("a")
  file:close()
  -- GitHub-flavoured Markdown, as the page is written (lists right after
  -- a paragraph line, pipe tables).
  local doc = pandoc.read(text, "gfm")
  local out = {}
  local skipping = false
  for _, block in ipairs(doc.blocks) do
    if block.t == "Header" and block.level == 1 then
      -- The page title: the man page has its own. The text up to the first
      -- section is the introduction and stays under DESCRIPTION.
    else
      if block.t == "Header" and block.level == 2 then
        skipping = developer_only[pandoc.utils.stringify(block.content)] or false
      end
      if not skipping then
        if block.t == "Header" then
          block.level = block.level - 1
          if block.level == 1 then block = upper_case(block) end
        elseif block.t == "Table" then
          block = table_as_list(block)
        end
        table.insert(out, block)
      end
    end
  end
  return out
end

function Pandoc(doc)
  local path = pandoc.utils.stringify(doc.meta["image-format-md"] or "")
  assert(path ~= "", "image-format.lua: set -M image-format-md=PATH")
  local blocks = {}
  for _, block in ipairs(doc.blocks) do
    if block.t == "Div" and block.classes:includes("image-format") then
      for _, b in ipairs(image_format_blocks(path)) do
        table.insert(blocks, b)
      end
    else
      table.insert(blocks, block)
    end
  end
  doc.blocks = blocks
  return doc
end
