/** A table as Postgres names it. */
export interface TableName {
  schema: string;
  name: string;
}

/** `"a""b"`: an identifier quoted for SQL, whatever it contains. */
export function quoteIdent(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** `'it''s'`: a string literal. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `todos` is `public.todos`; `app.todos` is schema `app`. Names are taken as written. */
export function parseTableName(configured: string): TableName {
  const dot = configured.indexOf('.');
  return dot < 0 ? { schema: 'public', name: configured } : { schema: configured.slice(0, dot), name: configured.slice(dot + 1) };
}

/** `"app"."todos"` */
export function quoteTable(table: TableName): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
}

/** `app.todos`, the key a stream reports a change under. */
export function tableKey(table: TableName): string {
  return `${table.schema}.${table.name}`;
}

/** Maps `schema.table` as the stream reports it to the name the user configured. */
export function configuredNames(tables: readonly string[]): Map<string, string> {
  return new Map(tables.map((configured) => [tableKey(parseTableName(configured)), configured]));
}
