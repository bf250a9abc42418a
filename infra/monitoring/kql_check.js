// Offline KQL check of infra/monitoring/queries/*.kql with Microsoft's Kusto parser and semantic
// analyser (Kusto.Language, npm @kusto/language-service-next; no network, no cluster).
//
//   node infra/monitoring/kql_check.js FILE.kql ...   → one JSON document on stdout:
//   {"files": {"FILE.kql": [{"severity", "line", "column", "message"}, ...]}, "errors": N}
//   exit 0 when no diagnostic of severity Error, 1 otherwise, 2 on usage errors.
//
// The schema below declares the tables the queries read, with the columns of their real schemas
// that matter here (Application Insights `traces`, classic schema, as the component scope sees it;
// the storage diagnostic tables of the Log Analytics workspace), so unknown tables, columns,
// functions and type mismatches are reported, not only syntax errors.
"use strict";
const fs = require("fs");
require("@kusto/language-service-next/bridge.min.js");
require("@kusto/language-service-next/Kusto.Language.Bridge.min.js");

const K = Kusto.Language;
const S = K.Symbols;

const STORAGE_LOG_COLUMNS =
  "TimeGenerated:datetime, AccountName:string, Location:string, Protocol:string, OperationName:string, " +
  "AuthenticationType:string, StatusCode:string, StatusText:string, DurationMs:real, ServerLatencyMs:real, " +
  "Uri:string, CallerIpAddress:string, CorrelationId:string, ObjectKey:string, Category:string, Type:string, " +
  "_ResourceId:string";
const TABLES = {
  traces:
    "timestamp:datetime, message:string, severityLevel:int, itemType:string, customDimensions:dynamic, " +
    "customMeasurements:dynamic, operation_Name:string, operation_Id:string, operation_ParentId:string, " +
    "cloud_RoleName:string, cloud_RoleInstance:string, appId:string, appName:string, itemId:string, itemCount:int",
  StorageBlobLogs: STORAGE_LOG_COLUMNS,
  StorageQueueLogs: STORAGE_LOG_COLUMNS,
  StorageTableLogs: STORAGE_LOG_COLUMNS,
};

function globals() {
  const tables = Object.entries(TABLES).map(([name, columns]) => S.TableSymbol.From(`(${columns})`).WithName(name));
  const members = System.Array.init(tables, S.Symbol);
  const database = new S.DatabaseSymbol.$ctor3("monitoring", null, members, false);
  return K.GlobalState.Default.WithDatabase(database);
}

function position(text, offset) {
  const before = text.slice(0, offset).split("\n");
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function check(path, state) {
  const text = fs.readFileSync(path, "utf8");
  const code = K.KustoCode.ParseAndAnalyze(text, state);
  const diagnostics = code.GetDiagnostics();
  const found = [];
  for (let i = 0; i < diagnostics.Count; i++) {
    const d = diagnostics.getItem(i);
    found.push({ severity: d.Severity, ...position(text, d.Start), message: d.Message });
  }
  if (!text.trim()) found.push({ severity: "Error", line: 1, column: 1, message: "empty query" });
  return found;
}

function main(argv) {
  if (argv.length === 0) {
    process.stderr.write("usage: node infra/monitoring/kql_check.js FILE.kql ...\n");
    return 2;
  }
  const state = globals();
  const files = {};
  let errors = 0;
  for (const path of argv) {
    files[path] = check(path, state);
    errors += files[path].filter((d) => d.severity === "Error").length;
  }
  process.stdout.write(JSON.stringify({ files, errors }, null, 1) + "\n");
  return errors ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
