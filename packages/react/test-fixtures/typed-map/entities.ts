// The entity map of a small todo app, shared by the server, the client and the React hooks.
import type { StandardSchemaV1 } from '@entity-sync/core';

export interface Item {
  id: string;
  title: string;
}

export interface Todo {
  title: string;
  done: boolean;
}

export type Entities = {
  items: Item;
  todoList: { params: { owner: string }; value: Todo[] };
};

/** The params schema of `todoList`: any Standard Schema (zod, valibot, arktype) fits; this one is hand-written. */
export const todoListParams: StandardSchemaV1<unknown, { owner: string }> = {
  '~standard': {
    version: 1,
    vendor: 'fixture',
    validate: (value) => {
      const owner = (value as { owner?: unknown } | null)?.owner;
      return typeof owner === 'string' ? { value: { owner } } : { issues: [{ message: 'owner must be a string' }] };
    },
  },
};
