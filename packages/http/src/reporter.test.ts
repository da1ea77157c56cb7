import type { IncomingMessage } from 'node:http';
import { EntitySyncError } from '@entity-sync/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Reporter } from './reporter.js';

const req = {} as IncomingMessage;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Reporter', () => {
  it('passes every error to onError, and survives a throwing onError', () => {
    const seen: string[] = [];
    const reporter = new Reporter((error, ctx) => {
      seen.push(error.code);
      expect(ctx.req).toBe(req);
      throw new Error('onError is broken');
    });
    reporter.report(new EntitySyncError('PUBLISH_FAILED', 'bus down'), req);
    reporter.report(new EntitySyncError('PUBLISH_FAILED', 'bus down'), req);
    expect(seen).toEqual(['PUBLISH_FAILED', 'PUBLISH_FAILED']);
  });

  it('without onError, warns once per code through process.emitWarning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const reporter = new Reporter(undefined);
    reporter.report(new EntitySyncError('PUBLISH_FAILED', 'bus down'), req);
    reporter.report(new EntitySyncError('PUBLISH_FAILED', 'bus down again'), req);
    reporter.report(new EntitySyncError('INTERNAL', 'verify threw'), req);
    expect(warn.mock.calls.map((call) => (call[1] as { code: string }).code)).toEqual(['PUBLISH_FAILED', 'INTERNAL']);
    expect(warn.mock.calls[0]![0]).toMatch(/^@entity-sync\/http: bus down/);
  });
});
