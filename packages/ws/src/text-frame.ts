import * as wsModule from 'ws';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}

/** `ws`'s frame builder (exported by `ws`, missing from its typings). */
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

const TEXT: FrameOptions = { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false };

let lastText: string | undefined;
let lastFrame: Buffer = Buffer.alloc(0);

/**
 * The whole WebSocket text frame of `text` (header and UTF-8 payload, unmasked as a server sends
 * it), built once for a run of sends of the same string: a push writes one frame string to every
 * subscriber, and `ws.send` would measure, encode and frame it again for each socket. The bytes
 * are shared by every socket they are written to, and never modified.
 */
export function textFrame(text: string): Buffer {
  if (text !== lastText) {
    lastFrame = Buffer.concat(Sender.frame(Buffer.from(text, 'utf8'), TEXT));
    lastText = text;
  }
  return lastFrame;
}
