#include "transform/lua_engine.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
}

namespace sluice::transform {
namespace {

constexpr int kHookInstructions = 10'000;
constexpr int64_t kInitTimeLimitMs = 5'000;
constexpr char kTimeLimitMessage[] = "Lua time limit for the batch exceeded";

// The state a running call needs from C callbacks. Set around each protected call.
struct Active {
  BatchContext* ctx = nullptr;
  const RowTable* table = nullptr;  // the row the rules see
  uint32_t first_cell = 0;
  uint32_t end_cell = 0;
};
thread_local Active g_active;

void Hook(lua_State* L, lua_Debug* /*ar*/) {
  BatchContext* ctx = g_active.ctx;
  if (ctx == nullptr) return;
  if (ctx->lua_time_exceeded || ctx->clock->MonotonicMs() > ctx->lua_deadline_ms) {
    ctx->lua_time_exceeded = true;
    luaL_error(L, kTimeLimitMessage);
  }
}

void PushCell(lua_State* L, const Cell& cell, const Arena& arena) {
  std::string_view text = arena.Text(cell);
  switch (cell.kind) {
    case ValueKind::kNull: lua_pushnil(L); return;
    case ValueKind::kBool: lua_pushboolean(L, text == "true"); return;
    case ValueKind::kNumber: {
      std::string tmp(text);
      lua_pushnumber(L, std::strtod(tmp.c_str(), nullptr));
      return;
    }
    case ValueKind::kString:
    case ValueKind::kJson: lua_pushlstring(L, text.data(), text.size()); return;
  }
}

// Number text for a Lua number: integers exactly, others shortest round-trip.
bool FormatNumber(double v, std::string& out) {
  if (!std::isfinite(v)) return false;
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(v));
    out.assign(buf, r.ptr);
  } else {
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.assign(buf, r.ptr);
  }
  return true;
}

// Converts the Lua value at `index` into a cell for `column`. `previous` (may be null) is the
// input cell of the same column: reused when the value is unchanged, so exact text survives.
bool ToCell(lua_State* L, int index, uint32_t column, const Cell* previous, Arena& arena, Cell& out,
            std::string& error) {
  std::string text;
  switch (lua_type(L, index)) {
    case LUA_TNIL: out = Cell{column, ValueKind::kNull, 0, 0}; return true;
    case LUA_TBOOLEAN:
      out = arena.Make(column, ValueKind::kBool, lua_toboolean(L, index) ? "true" : "false");
      return true;
    case LUA_TNUMBER: {
      double v = lua_tonumber(L, index);
      if (previous != nullptr && previous->kind == ValueKind::kNumber) {
        std::string prev(arena.Text(*previous));
        if (std::strtod(prev.c_str(), nullptr) == v) {
          out = *previous;
          out.column = column;
          return true;
        }
      }
      if (!FormatNumber(v, text)) {
        error = "is not a finite number";
        return false;
      }
      out = arena.Make(column, ValueKind::kNumber, text);
      return true;
    }
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, index, &len);
      std::string_view sv(s, len);
      if (previous != nullptr && previous->kind != ValueKind::kNull &&
          previous->kind != ValueKind::kBool && arena.Text(*previous) == sv) {
        out = *previous;
        out.column = column;
        return true;
      }
      out = arena.Make(column, ValueKind::kString, sv);
      return true;
    }
    default:
      error = std::string("has unsupported Lua type ") + lua_typename(L, lua_type(L, index));
      return false;
  }
}

// The sandboxed interpreter shared by both stages.
class Sandbox {
 public:
  Sandbox() : L_(luaL_newstate()) {}
  ~Sandbox() {
    if (L_ != nullptr) lua_close(L_);
  }
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  Status Init() {
    if (L_ == nullptr) return Status::Internal("cannot create a Lua state");
    luaJIT_setmode(L_, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    const struct {
      const char* name;
      lua_CFunction open;
    } kLibs[] = {{"", luaopen_base},
                 {LUA_TABLIBNAME, luaopen_table},
                 {LUA_STRLIBNAME, luaopen_string},
                 {LUA_MATHLIBNAME, luaopen_math},
                 {LUA_BITLIBNAME, luaopen_bit}};
    for (const auto& lib : kLibs) {
      lua_pushcfunction(L_, lib.open);
      lua_pushstring(L_, lib.name);
      lua_call(L_, 1, 0);
    }
    for (const char* name :
         {"dofile", "loadfile", "load", "loadstring", "require", "module", "getfenv", "setfenv",
          "collectgarbage", "print", "newproxy", "gcinfo"}) {
      lua_pushnil(L_);
      lua_setglobal(L_, name);
    }
    lua_getglobal(L_, "string");
    lua_pushnil(L_);
    lua_setfield(L_, -2, "dump");
    lua_pop(L_, 1);
    lua_sethook(L_, Hook, LUA_MASKCOUNT, kHookInstructions);
    return Status::Ok();
  }

  // Compiles `code`; on success the function is on the stack.
  Status Load(const std::string& code, const std::string& chunk_name) {
    if (luaL_loadbuffer(L_, code.data(), code.size(), chunk_name.c_str()) != 0) {
      std::string msg = lua_tostring(L_, -1);
      lua_pop(L_, 1);
      return Status::InvalidArgument(msg);
    }
    return Status::Ok();
  }

  // lua_pcall with the hook armed for `ctx`. On error returns false with the message.
  bool Call(BatchContext* ctx, int nargs, int nresults, std::string& error) {
    g_active.ctx = ctx;
    int rc = lua_pcall(L_, nargs, nresults, 0);
    g_active.ctx = nullptr;
    if (rc == 0) return true;
    const char* msg = lua_tostring(L_, -1);
    error = msg != nullptr ? msg : "error object is not a string";
    lua_pop(L_, 1);
    return false;
  }

  lua_State* L() const { return L_; }

 private:
  lua_State* L_;
};

std::string TimeLimitCode() {
  return "Lua.TimeLimitExceeded";
}

// ---------------------------------------------------------------------------------------------
// rules

class RulesStage final : public Stage {
 public:
  enum class Kind : uint8_t { kDropIf, kFailIf, kSet };
  struct Rule {
    Kind kind;
    std::string expr;
    std::string message;  // fail_if
    uint32_t column = 0;  // set
    int ref = LUA_NOREF;
    std::string label;  // "rule 2 (fail_if \"amount < 0\")"
  };

  explicit RulesStage(ColumnRegistry* columns) : columns_(columns) {}
  bool is_row_stage() const override { return true; }

  Status Compile(std::vector<Rule> rules) {
    SLUICE_RETURN_IF_ERROR(sandbox_.Init());
    lua_State* L = sandbox_.L();
    // env: reads go to the current row, then to the globals; writes are errors.
    lua_newtable(L);  // env
    lua_newtable(L);  // metatable
    lua_pushvalue(L, LUA_GLOBALSINDEX);
    lua_pushlightuserdata(L, this);
    lua_pushcclosure(L, &RulesStage::Index, 2);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, &RulesStage::NewIndex);
    lua_setfield(L, -2, "__newindex");
    // row: a proxy with the same lookup, for columns that are not Lua identifiers.
    lua_pushstring(L, "row");
    lua_newtable(L);
    lua_pushvalue(L, -3);  // the metatable
    lua_setmetatable(L, -2);
    lua_rawset(L, -4);  // env.row = proxy (raw: env rejects assignments)
    lua_setmetatable(L, -2);
    env_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
    for (auto& rule : rules) {
      Status st = sandbox_.Load("return (" + rule.expr + "\n)", "=" + rule.label);
      if (!st.ok()) return Status::InvalidArgument(rule.label + ": " + st.message());
      lua_rawgeti(L, LUA_REGISTRYINDEX, env_ref_);
      lua_setfenv(L, -2);
      rule.ref = luaL_ref(L, LUA_REGISTRYINDEX);
    }
    rules_ = std::move(rules);
    return Status::Ok();
  }

  void ProcessRows(const std::vector<Item>& /*items*/, const RowTable& in, RowTable& out,
                   BatchContext& ctx) override {
    lua_State* L = sandbox_.L();
    std::string error;
    for (const RowRef& row : in.rows) {
      if (ctx.Failed(row.record)) continue;
      if (ctx.lua_time_exceeded) {
        ctx.Fail(row.record, TimeLimitCode(), kTimeLimitMessage);
        continue;
      }
      RowRef out_row{row.record, static_cast<uint32_t>(out.cells.size()), 0};
      out.cells.insert(out.cells.end(), in.cells.begin() + row.first_cell,
                       in.cells.begin() + row.first_cell + row.cell_count);
      bool keep = true;
      for (const Rule& rule : rules_) {
        g_active.table = &out;
        g_active.first_cell = out_row.first_cell;
        g_active.end_cell = static_cast<uint32_t>(out.cells.size());
        lua_rawgeti(L, LUA_REGISTRYINDEX, rule.ref);
        if (!sandbox_.Call(&ctx, 0, 1, error)) {
          ctx.Fail(row.record, ctx.lua_time_exceeded ? TimeLimitCode() : "Rules.EvaluationError",
                   rule.label + ": " + error);
          keep = false;
          break;
        }
        bool truthy = lua_toboolean(L, -1) != 0;
        if (rule.kind == Kind::kSet) {
          Cell cell;
          const Cell* previous = FindCell(out, out_row.first_cell,
                                          static_cast<uint32_t>(out.cells.size()), rule.column);
          if (!ToCell(L, -1, rule.column, previous, ctx.arena, cell, error)) {
            lua_pop(L, 1);
            ctx.Fail(row.record, "Rules.EvaluationError", rule.label + ": the value " + error);
            keep = false;
            break;
          }
          out.cells.push_back(cell);
        }
        lua_pop(L, 1);
        if (rule.kind == Kind::kDropIf && truthy) {
          keep = false;
          break;
        }
        if (rule.kind == Kind::kFailIf && truthy) {
          ctx.Fail(row.record, "Rules.FailIf", rule.message);
          keep = false;
          break;
        }
      }
      g_active.table = nullptr;
      if (!keep) {
        out.cells.resize(out_row.first_cell);
        continue;
      }
      out_row.cell_count = static_cast<uint32_t>(out.cells.size()) - out_row.first_cell;
      out.rows.push_back(out_row);
    }
  }

 private:
  static const Cell* FindCell(const RowTable& t, uint32_t first, uint32_t end, uint32_t column) {
    for (uint32_t c = end; c-- > first;) {
      if (t.cells[c].column == column) return &t.cells[c];
    }
    return nullptr;
  }

  // __index(env, key): the current row's column, else the global.
  static int Index(lua_State* L) {
    auto* self = static_cast<RulesStage*>(lua_touserdata(L, lua_upvalueindex(2)));
    if (lua_type(L, 2) == LUA_TSTRING && g_active.table != nullptr && g_active.ctx != nullptr) {
      size_t len = 0;
      const char* key = lua_tolstring(L, 2, &len);
      auto id = self->columns_->Find(std::string_view(key, len));
      if (id) {
        const Cell* cell = FindCell(*g_active.table, g_active.first_cell, g_active.end_cell, *id);
        if (cell != nullptr) {
          PushCell(L, *cell, g_active.ctx->arena);
          return 1;
        }
      }
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
  }

  static int NewIndex(lua_State* L) {
    return luaL_error(L, "rules cannot assign globals; use {set: column, expr: ...}");
  }

  Sandbox sandbox_;
  ColumnRegistry* columns_;
  std::vector<Rule> rules_;
  int env_ref_ = LUA_NOREF;
};

// ---------------------------------------------------------------------------------------------
// lua

class LuaStage final : public Stage {
 public:
  explicit LuaStage(ColumnRegistry* columns) : columns_(columns) {}
  bool is_row_stage() const override { return true; }

  Status Compile(const std::string& code, const std::string& chunk_name) {
    SLUICE_RETURN_IF_ERROR(sandbox_.Init());
    SLUICE_RETURN_IF_ERROR(sandbox_.Load(code, "@" + chunk_name));
    std::string error;
    // The script's top level runs once, with its own time budget.
    BatchContext init;
    init.clock = &Clock::System();
    init.lua_deadline_ms = init.clock->MonotonicMs() + kInitTimeLimitMs;
    if (!sandbox_.Call(&init, 0, 0, error)) {
      return Status::InvalidArgument("running the script: " + error);
    }
    lua_getglobal(sandbox_.L(), "process");
    bool is_function = lua_isfunction(sandbox_.L(), -1);
    process_ref_ = luaL_ref(sandbox_.L(), LUA_REGISTRYINDEX);
    if (!is_function) {
      return Status::InvalidArgument("the script must define function process(record, meta)");
    }
    return Status::Ok();
  }

  void ProcessRows(const std::vector<Item>& /*items*/, const RowTable& in, RowTable& out,
                   BatchContext& ctx) override {
    lua_State* L = sandbox_.L();
    std::string error;
    for (const RowRef& row : in.rows) {
      if (ctx.Failed(row.record)) continue;
      if (ctx.lua_time_exceeded) {
        ctx.Fail(row.record, TimeLimitCode(), kTimeLimitMessage);
        continue;
      }
      const int base = lua_gettop(L);
      RunOne(L, base, row, in, out, ctx, error);
      lua_settop(L, base);
    }
  }

 private:
  void RunOne(lua_State* L, int base, const RowRef& row, const RowTable& in, RowTable& out,
              BatchContext& ctx, std::string& error) {
    // Build [record, meta] and call process(record, meta) → (result, data).
    lua_createtable(L, 0, static_cast<int>(row.cell_count));  // base+1 record
    for (uint32_t c = row.first_cell; c < row.first_cell + row.cell_count; ++c) {
      const Cell& cell = in.cells[c];
      const std::string& name = columns_->Name(cell.column);
      lua_pushlstring(L, name.data(), name.size());
      PushCell(L, cell, ctx.arena);
      lua_rawset(L, -3);
    }
    const SourceRecord& source = (*ctx.input)[row.record];
    lua_createtable(L, 0, 3);  // base+2 meta
    lua_pushlstring(L, source.record_id.data(), source.record_id.size());
    lua_setfield(L, -2, "recordId");
    lua_pushnumber(L, static_cast<double>(source.arrival_ms));
    lua_setfield(L, -2, "approximateArrivalTimestamp");
    lua_newtable(L);
    for (const auto& [k, v] : ctx.states[row.record].partition_keys) {
      lua_pushlstring(L, v.data(), v.size());
      lua_setfield(L, -2, k.c_str());
    }
    lua_setfield(L, -2, "partitionKeys");
    lua_rawgeti(L, LUA_REGISTRYINDEX, process_ref_);  // base+3
    lua_pushvalue(L, base + 1);
    lua_pushvalue(L, base + 2);
    if (!sandbox_.Call(&ctx, 2, 2, error)) {
      ctx.Fail(row.record, ctx.lua_time_exceeded ? TimeLimitCode() : "Lua.RuntimeError",
               "process(): " + error);
      return;
    }
    // base+3 result, base+4 data
    size_t len = 0;
    const char* result = lua_tolstring(L, base + 3, &len);
    std::string_view outcome = result != nullptr ? std::string_view(result, len) : "";
    if (outcome == "Dropped") return;
    if (outcome == "ProcessingFailed") {
      const char* msg = lua_tostring(L, base + 4);
      ctx.Fail(row.record, "Lua.ProcessingFailed",
               msg != nullptr ? msg : "process() returned ProcessingFailed");
      return;
    }
    if (outcome != "Ok") {
      ctx.Fail(
          row.record, "Lua.InvalidResult",
          "process() must return \"Ok\", \"Dropped\" or \"ProcessingFailed\" first, got " +
              std::string(result != nullptr ? std::string(outcome) : luaL_typename(L, base + 3)));
      return;
    }
    // Partition keys.
    lua_getfield(L, base + 2, "partitionKeys");
    if (lua_istable(L, -1)) {
      PartitionKeys keys;
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING &&
            (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER)) {
          lua_pushvalue(L, -2);
          keys[lua_tostring(L, -1)] = lua_tostring(L, -2);
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
      }
      if (!keys.empty() || ctx.states[row.record].has_partition_keys) {
        ctx.SetPartitionKeys(row.record, std::move(keys));
      }
    }
    lua_pop(L, 1);
    // Rows: nil → the record table; {row...} → several; a table → one.
    int data = base + 4;
    if (lua_isnil(L, data)) data = base + 1;
    if (!lua_istable(L, data)) {
      ctx.Fail(row.record, "Lua.InvalidResult",
               std::string("process() returned \"Ok\" with a ") + luaL_typename(L, data) +
                   " instead of a row table");
      return;
    }
    lua_rawgeti(L, data, 1);
    bool many = lua_istable(L, -1);
    lua_pop(L, 1);
    if (!many) {
      AppendRow(L, data, row, in, out, ctx);
      return;
    }
    for (int i = 1;; ++i) {
      lua_rawgeti(L, data, i);
      if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        break;
      }
      if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        ctx.Fail(row.record, "Lua.InvalidResult",
                 "process() row " + std::to_string(i) + " is not a table");
        return;
      }
      bool ok = AppendRow(L, lua_gettop(L), row, in, out, ctx);
      lua_pop(L, 1);
      if (!ok) return;
    }
  }

  // Appends the row table at `index` to `out`.
  bool AppendRow(lua_State* L, int index, const RowRef& row, const RowTable& in, RowTable& out,
                 BatchContext& ctx) {
    struct Entry {
      uint32_t order;
      std::string name;
      int value_ref;
    };
    // Positions of the input row's columns.
    std::vector<Entry> entries;
    lua_pushnil(L);
    while (lua_next(L, index) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING) {
        lua_pop(L, 2);
        for (auto& e : entries) luaL_unref(L, LUA_REGISTRYINDEX, e.value_ref);
        ctx.Fail(row.record, "Lua.InvalidResult", "row keys must be column names (strings)");
        return false;
      }
      size_t len = 0;
      const char* key = lua_tolstring(L, -2, &len);
      std::string name(key, len);
      uint32_t order = UINT32_MAX;
      auto id = columns_->Find(name);
      if (id) {
        for (uint32_t c = row.first_cell; c < row.first_cell + row.cell_count; ++c) {
          if (in.cells[c].column == *id) {
            order = c - row.first_cell;
            break;
          }
        }
      }
      int ref = luaL_ref(L, LUA_REGISTRYINDEX);  // pops the value
      entries.push_back(Entry{order, std::move(name), ref});
    }
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return a.order != b.order ? a.order < b.order : a.name < b.name;
    });
    RowRef out_row{row.record, static_cast<uint32_t>(out.cells.size()), 0};
    std::string error;
    bool ok = true;
    for (const Entry& e : entries) {
      lua_rawgeti(L, LUA_REGISTRYINDEX, e.value_ref);
      luaL_unref(L, LUA_REGISTRYINDEX, e.value_ref);
      if (!ok) {
        lua_pop(L, 1);
        continue;
      }
      uint32_t column = columns_->Intern(e.name);
      const Cell* previous = e.order == UINT32_MAX ? nullptr : &in.cells[row.first_cell + e.order];
      Cell cell;
      if (!ToCell(L, -1, column, previous, ctx.arena, cell, error)) {
        ctx.Fail(row.record, "Lua.InvalidResult", "column \"" + e.name + "\" " + error);
        ok = false;
      } else {
        out.cells.push_back(cell);
      }
      lua_pop(L, 1);
    }
    if (!ok) {
      out.cells.resize(out_row.first_cell);
      return false;
    }
    out_row.cell_count = static_cast<uint32_t>(out.cells.size()) - out_row.first_cell;
    out.rows.push_back(out_row);
    return true;
  }

  Sandbox sandbox_;
  ColumnRegistry* columns_;
  int process_ref_ = LUA_NOREF;
};

}  // namespace

Result<std::unique_ptr<Stage>> MakeRulesStage(const RulesParams& params, const std::string& where,
                                              ColumnRegistry* columns) {
  std::vector<RulesStage::Rule> rules;
  size_t index = 0;
  for (const RulesParams::Rule& r : params.rules) {
    ++index;
    RulesStage::Rule rule;
    rule.expr = r.expr;
    switch (r.kind) {
      case RulesParams::Rule::Kind::kDropIf:
        rule.kind = RulesStage::Kind::kDropIf;
        rule.label = "rule " + std::to_string(index) + " (drop_if " + r.expr + ")";
        break;
      case RulesParams::Rule::Kind::kFailIf:
        rule.kind = RulesStage::Kind::kFailIf;
        rule.message = r.message.value_or("rule " + std::to_string(index) + " failed: " + r.expr);
        rule.label = "rule " + std::to_string(index) + " (fail_if " + r.expr + ")";
        break;
      case RulesParams::Rule::Kind::kSet:
        rule.kind = RulesStage::Kind::kSet;
        rule.column = columns->Intern(r.column);
        rule.label = "rule " + std::to_string(index) + " (set " + r.column + ")";
        break;
    }
    rules.push_back(std::move(rule));
  }
  auto stage = std::make_unique<RulesStage>(columns);
  Status st = stage->Compile(std::move(rules));
  if (!st.ok()) return Status::InvalidArgument(where + ": " + st.message());
  return std::unique_ptr<Stage>(std::move(stage));
}

Result<std::unique_ptr<Stage>> MakeLuaStage(const LuaParams& params, const std::string& where,
                                            ColumnRegistry* columns) {
  const std::optional<std::string>& file = params.file;
  const std::optional<std::string>& script = params.script;
  std::string code;
  std::string name = "script";
  if (file) {
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      return Status::InvalidArgument(where + ": parameter \"file\" \"" + *file +
                                     "\" cannot be read");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    code = ss.str();
    name = *file;
  } else {
    code = *script;
  }
  auto stage = std::make_unique<LuaStage>(columns);
  Status st = stage->Compile(code, name);
  if (!st.ok()) return Status::InvalidArgument(where + ": " + st.message());
  return std::unique_ptr<Stage>(std::move(stage));
}

}  // namespace sluice::transform
