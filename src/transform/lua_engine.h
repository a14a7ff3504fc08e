// rules and lua: row processors scripted in LuaJIT.
//
// Sandbox (one lua_State per stage, compiled once at Chain::Build): only the base, string,
// table, math and bit libraries, without dofile, loadfile, load, loadstring, require, module,
// getfenv, setfenv, collectgarbage, print, newproxy and string.dump; no io, os, debug, ffi,
// jit or package. The JIT compiler is off so the instruction-count hook that enforces the
// per-batch time limit (ChainOptions::lua_time_limit_ms) also interrupts loops.
//
// rules: [{"drop_if": "status == 'test'"},
//         {"fail_if": "amount < 0", "message": "negative amount"},
//         {"set": "total", "expr": "price * qty"}]   (or {"rules": [...]})
//   Each expression is a Lua expression over the row: a column is a global of its name
//   (row["odd name"] for other names; columns shadow library names); null/missing is nil.
//   Rules run in order per row: drop_if true → the row is dropped; fail_if true → the record is
//   ProcessingFailed (Rules.FailIf, with the message); set stores the value (nil → null) and
//   later rules see it. A Lua error fails the record (Rules.EvaluationError, naming the rule).
//
// lua: {"file": "rules/orders.lua"} or {"script": "..."}; the script defines
//   function process(record, meta) ... end
//   record: the row as a table (column → string/number/boolean; null/missing is absent);
//   meta: {recordId=..., approximateArrivalTimestamp=<ms>, partitionKeys={...}} — set
//   meta.partitionKeys.k = "v" to choose the record's output group.
//   Returns "Ok" [, row | {row, row, ...}] (default: the possibly modified record table),
//   "Dropped", or "ProcessingFailed" [, message]. Output columns keep the input row's order;
//   new columns follow in name order. A number that is unchanged keeps its exact input text.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "transform/processor_params.h"
#include "transform/rows.h"
#include "transform/stage.h"

namespace sluice::transform {

// Compile the rules' expressions / read and compile the script; errors start with `where`.
Result<std::unique_ptr<Stage>> MakeRulesStage(const RulesParams& params, const std::string& where,
                                              ColumnRegistry* columns);
Result<std::unique_ptr<Stage>> MakeLuaStage(const LuaParams& params, const std::string& where,
                                            ColumnRegistry* columns);

}  // namespace sluice::transform
