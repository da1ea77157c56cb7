export { createPostgresSource } from './postgres-source.js';
export type { PostgresSourceMode, PostgresSourceOptions } from './options.js';
