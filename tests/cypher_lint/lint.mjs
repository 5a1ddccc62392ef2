// Lint Cypher queries with Neo4j's linter (@neo4j-cypher/language-support).
//
// stdin: a JSON array of query strings. stdout: a JSON array with, for each query, the list
// of its diagnostics: {severity, message, line, column, start, end, deprecated}, where
// severity is "error", "warning", "information" or "hint", line and column start at 1, and
// start/end are character offsets into the query.
//
// No database schema is given, so unknown labels, properties and functions are not
// reported; syntax errors and the semantic analysis (deprecations included) are. Queries
// are read as Cypher 5 unless they start with `CYPHER 25`. "Parameter $x is not defined"
// is dropped: intentgraph always passes its parameters at run time.
import { readFileSync } from 'node:fs';
import { isNotParamError, lintCypherQuery } from '@neo4j-cypher/language-support';

const SEVERITIES = { 1: 'error', 2: 'warning', 3: 'information', 4: 'hint' };
const DEPRECATED_TAG = 2; // DiagnosticTag.Deprecated in the LSP types
const SCHEMA = { defaultLanguage: 'CYPHER 5' };

const queries = JSON.parse(readFileSync(0, 'utf8'));
if (!Array.isArray(queries) || !queries.every((q) => typeof q === 'string')) {
  console.error('lint.mjs: stdin must be a JSON array of strings');
  process.exit(2);
}

const results = queries.map((query) =>
  lintCypherQuery(query, SCHEMA)
    .diagnostics.filter(isNotParamError)
    .map((d) => ({
      severity: SEVERITIES[d.severity] ?? String(d.severity),
      message: d.message,
      line: d.range.start.line + 1,
      column: d.range.start.character + 1,
      start: d.offsets.start,
      end: d.offsets.end,
      deprecated:
        (d.tags ?? []).includes(DEPRECATED_TAG) || /\bdeprecated\b/i.test(d.message),
    })),
);
process.stdout.write(JSON.stringify(results));
