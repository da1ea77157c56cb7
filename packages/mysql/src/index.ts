export { createMysqlSource } from './mysql-source.js';
export type { MysqlSourceOptions } from './options.js';
